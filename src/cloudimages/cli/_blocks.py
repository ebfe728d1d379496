"""The CLI's one seam to Prefect's block store: open, save, list and delete accounts.

Reads and deletes go over Prefect's REST API with httpx (``_accountstore``)
whenever the settings allow (``_connect.rest_api``): no Prefect import, so
``images list`` answers in well under a second. Saving a block, and any
Prefect setup the fast path does not reproduce, use Prefect itself, imported
here lazily (``import prefect`` costs about a second). A Prefect API that
cannot be reached, and "not found" and "already exists", become
``ConfigurationError`` with a message that says what to do.
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
    from ..client import ImagesClient
    from ._accountstore import AccountStore

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
            "PREFECT_API_URL to let cloudimages run one in the background"
        )
        raise ConfigurationError(msg) from err


def _store() -> AccountStore | None:
    """The REST block store, or None when only Prefect's client can reach the API."""
    from ._accountstore import AccountStore
    from ._connect import rest_api

    api = rest_api()
    return None if api is None else AccountStore(api)


def missing(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"no account block named {name!r}; create it with `cloudimages accounts add {name}"
        " --username USER --region REGION` (Rackspace) or `cloudimages accounts add"
        f" {name} --cloud ENTRY` (an OpenStack cloud from clouds.yaml)"
    )


def images_client(name: str, region: str | None) -> ImagesClient:
    """The images client of account block ``name`` in ``region`` (default: the block's)."""
    store = _store()
    if store is None:
        return load_account(name).images_client(region)
    document = store.find(name, secrets=True)
    if document is None:
        raise missing(name)
    return store.images_client(document, region)


def load_account(name: str) -> AccountBlock:
    """The block named ``name``; ``ConfigurationError`` saying how to create a missing one."""
    prefect_defaults()
    from ..blocks import load_account as load

    with prefect_api():
        return load(name)


def account_exists(name: str) -> bool:
    """Whether a block of either account type has this name."""
    store = _store()
    if store is not None:
        return store.find(name, secrets=False) is not None
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
    prefect_defaults()
    with prefect_api():
        _delete_other_types(name, keep=block.get_block_type_slug())
        block.save(name, overwrite=True)


def list_accounts() -> list[dict[str, Any]]:
    """Every saved account block as ``name``, ``kind`` + fields, secrets left out."""
    store = _store()
    if store is not None:
        from ._accountstore import slug_of

        return [_row(d["name"], BLOCK_TYPES[slug_of(d)], d["data"]) for d in store.all()]
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
                rows.append(_row(document.name or "", kind, document.data))
    return sorted(rows, key=lambda row: str(row["name"]))


def _row(name: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "kind": kind, **{k: v for k, v in data.items() if k not in SECRET_FIELDS}}


def delete_account(name: str) -> None:
    """Delete the block named ``name`` (``ConfigurationError`` if there is none)."""
    unknown = f"no account block named {name!r}; see `cloudimages accounts list`"
    store = _store()
    if store is not None:
        found = store.named(name, secrets=False)
        if not found:
            raise ConfigurationError(unknown)
        for document in found:
            store.delete(document)
        return
    prefect_defaults()
    with prefect_api():
        if not _delete_other_types(name, keep=None):
            raise ConfigurationError(unknown)


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
