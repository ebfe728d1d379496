"""The CLI's one seam to Prefect's block store: load, save, list and delete accounts.

Prefect and the block module are imported here lazily (``import prefect``
costs about a second). A Prefect API that cannot be reached, and Prefect's
own "not found" and "already exists", become ``ConfigurationError`` with a
message that says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._common import prefect_defaults

if TYPE_CHECKING:
    from ..blocks import AccountBlock

#: Block type slug -> the dialect it holds, for listings.
BLOCK_TYPES = {"cloud-images-account": "rackspace", "openstack-account": "openstack"}
SECRET_FIELDS = frozenset({"api_key", "password", "application_credential_secret"})
_BLOCK_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_block_name(name: str) -> str:
    """Block names are lowercase letters, digits and dashes (Prefect's rule)."""
    if not _BLOCK_NAME.match(name):
        msg = f"{name!r} is not a valid account name: use lowercase letters, digits and dashes"
        raise ValueError(msg)
    return name


@contextmanager
def prefect_api() -> Iterator[None]:
    """Turn "the Prefect API is unreachable" into one clear ``ConfigurationError``."""
    import httpx

    try:
        yield
    except httpx.TransportError as err:
        from prefect.settings import PREFECT_API_URL

        where = PREFECT_API_URL.value() or "the temporary local Prefect server"
        msg = (
            f"cannot reach the Prefect API at {where} ({err}); start it, or unset "
            "PREFECT_API_URL to let cloudimages start a temporary one"
        )
        raise ConfigurationError(msg) from err


def load_account(name: str) -> AccountBlock:
    """The block named ``name``; ``ConfigurationError`` saying how to create a missing one."""
    prefect_defaults()
    from ..blocks import load_account as load

    with prefect_api():
        return load(name)


def account_exists(name: str) -> bool:
    """Whether a block of either account type has this name."""
    prefect_defaults()
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with prefect_api(), get_client(sync_client=True) as client:
        for slug in BLOCK_TYPES:
            try:
                client.read_block_document_by_name(name, slug, include_secrets=False)
            except ObjectNotFound:
                continue
            return True
    return False


def refuse_existing(name: str) -> None:
    """``ConfigurationError`` if a block ``name`` exists (so nothing is replaced by accident)."""
    if account_exists(name):
        msg = f"an account block named {name!r} exists already; pass --overwrite to replace it"
        raise ConfigurationError(msg)


def save_account(block: AccountBlock, name: str) -> None:
    """Save the block as ``name``, replacing one of that name (of either type)."""
    with prefect_api():
        _delete_other_types(name, keep=block.get_block_type_slug())
        block.save(name, overwrite=True)


def list_accounts() -> list[dict[str, Any]]:
    """Every saved account block as ``name``, ``kind`` + fields, secrets left out."""
    prefect_defaults()
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    rows = []
    with prefect_api(), get_client(sync_client=True) as client:
        for slug, kind in BLOCK_TYPES.items():
            try:
                documents = client.read_block_documents_by_type(slug, include_secrets=False)
            except PrefectHTTPStatusError as err:
                if err.response.status_code == 404:  # a type is registered by its first save
                    continue
                raise
            for document in documents:
                data = {k: v for k, v in document.data.items() if k not in SECRET_FIELDS}
                rows.append({"name": document.name, "kind": kind, **data})
    return sorted(rows, key=lambda row: str(row["name"]))


def delete_account(name: str) -> None:
    """Delete the block named ``name`` (``ConfigurationError`` if there is none)."""
    prefect_defaults()
    with prefect_api():
        if not _delete_other_types(name, keep=None):
            msg = f"no account block named {name!r}; see `cloudimages accounts list`"
            raise ConfigurationError(msg)


def _delete_other_types(name: str, *, keep: str | None) -> int:
    """Delete blocks named ``name`` of every account type but ``keep``; how many went."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deleted = 0
    with get_client(sync_client=True) as client:
        for slug in BLOCK_TYPES:
            if slug == keep:
                continue
            try:
                document = client.read_block_document_by_name(name, slug, include_secrets=False)
            except ObjectNotFound:
                continue
            client.delete_block_document(document.id)
            deleted += 1
    return deleted
