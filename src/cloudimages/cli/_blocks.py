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
    from ..blocks import CloudImagesAccount
    from ..client import ImagesClient
    from ._accountstore import AccountStore

BLOCK_TYPE_SLUG = "cloud-images-account"
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
        f"no Cloud Images account block named {name!r}; create it with"
        f" `cloudimages accounts add {name} --username USER --region REGION`"
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


def load_account(name: str) -> CloudImagesAccount:
    """The block named ``name``; ``ConfigurationError`` saying how to create a missing one."""
    prefect_defaults()
    from ..blocks import load_account as load

    with prefect_api():
        return load(name)


def account_exists(name: str) -> bool:
    store = _store()
    if store is not None:
        return store.find(name, secrets=False) is not None
    prefect_defaults()
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with prefect_api(), get_client(sync_client=True) as client:
        try:
            client.read_block_document_by_name(name, BLOCK_TYPE_SLUG, include_secrets=False)
        except ObjectNotFound:
            return False
    return True


def refuse_existing(name: str) -> None:
    """``ConfigurationError`` if a block ``name`` exists (so nothing is replaced by accident)."""
    if account_exists(name):
        msg = f"an account block named {name!r} exists already; pass --overwrite to replace it"
        raise ConfigurationError(msg)


def save_account(block: CloudImagesAccount, name: str) -> None:
    """Save the block as ``name``, replacing one of that name."""
    prefect_defaults()
    with prefect_api():
        block.save(name, overwrite=True)


def list_accounts() -> list[dict[str, Any]]:
    """Every saved account block as ``name`` + fields, the API key left out."""
    store = _store()
    if store is not None:
        return [_row(d["name"], d["data"]) for d in store.all()]
    prefect_defaults()
    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    with prefect_api(), get_client(sync_client=True) as client:
        try:
            documents = client.read_block_documents_by_type(BLOCK_TYPE_SLUG, include_secrets=False)
        except PrefectHTTPStatusError as err:
            if err.response.status_code == 404:  # the type is registered by the first save
                return []
            raise
    return [_row(d.name or "", d.data) for d in sorted(documents, key=lambda d: d.name or "")]


def _row(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, **{k: v for k, v in data.items() if k != "api_key"}}


def delete_account(name: str) -> None:
    """Delete the block named ``name`` (``ConfigurationError`` if there is none)."""
    unknown = f"no Cloud Images account block named {name!r}; see `cloudimages accounts list`"
    store = _store()
    if store is not None:
        found = store.find(name, secrets=False)
        if found is None:
            raise ConfigurationError(unknown)
        store.delete(found)
        return
    prefect_defaults()
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with prefect_api(), get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(
                name, BLOCK_TYPE_SLUG, include_secrets=False
            )
            client.delete_block_document(document.id)
        except ObjectNotFound as err:
            raise ConfigurationError(unknown) from err
