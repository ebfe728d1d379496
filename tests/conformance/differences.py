"""Where Rackspace Cloud Files (as documented, and so the local cloud) differs from Swift 2.38.3.

This is the one list of object-store differences the conformance suite tolerates.  Each
entry names the test in ``test_objectstore_differences.py`` that pins both sides, so a
difference cannot silently appear, vanish or drift.  Human-readable version:
``docs/cloudfiles-differences.md`` (keep the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    """One tolerated difference: what each side does and which test asserts it."""

    id: str
    topic: str
    swift: str
    cloudfiles: str
    test: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        id="CF-AUTH",
        topic="How a token and the storage URL are obtained",
        swift="tempauth: GET /auth/v1.0 with X-Auth-User/X-Auth-Key on the proxy answers 200 "
        "with X-Storage-Url and X-Auth-Token.",
        cloudfiles="Identity v2.0: POST /v2.0/tokens with RAX-KSKEY:apiKeyCredentials; the "
        "storage URL is the object-store publicURL of the service catalog.  The storage "
        "host offers no /auth/v1.0 (4xx).",
        test="test_cf_auth_protocol",
    ),
    Difference(
        id="CF-ACCOUNT",
        topic="Account name in the storage URL",
        swift="AUTH_<account>, e.g. /v1/AUTH_test.",
        cloudfiles="MossoCloudFS_<uuid>, e.g. /v1/MossoCloudFS_0c3f…; also what "
        "X-Copy-From-Account and Destination-Account take.",
        test="test_cf_account_prefix",
    ),
    Difference(
        id="CF-ACL",
        topic="Principal syntax in X-Container-Read / X-Container-Write",
        swift="tempauth matches 'account:user' or the bare account ('test2', 'AUTH_test2'); "
        "a bare user name ('tester2') grants nothing.",
        cloudfiles="The Cloud Files user name ('bob') grants that user.",
        test="test_cf_acl_principal",
    ),
)


def by_id(difference_id: str) -> Difference:
    """The entry with this id (KeyError if there is none)."""
    return {d.id: d for d in DIFFERENCES}[difference_id]
