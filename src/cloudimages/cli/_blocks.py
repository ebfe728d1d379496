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
    from ..blocks import CloudImagesAccount

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
            "PREFECT_API_URL to let cloudimages start a temporary one"
        )
        raise ConfigurationError(msg) from err


def load_account(name: str) -> CloudImagesAccount:
    """The block named ``name``; ``ConfigurationError`` saying how to create a missing one."""
    prefect_defaults()
    from ..blocks import load_account as load

    with prefect_api():
        return load(name)


def account_exists(name: str) -> bool:
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
    with prefect_api():
        block.save(name, overwrite=True)


def list_accounts() -> list[dict[str, Any]]:
    """Every saved account block as ``name`` + fields, the API key left out."""
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
    rows = []
    for document in sorted(documents, key=lambda d: d.name or ""):
        data = {k: v for k, v in document.data.items() if k != "api_key"}
        rows.append({"name": document.name, **data})
    return rows


def delete_account(name: str) -> None:
    """Delete the block named ``name`` (``ConfigurationError`` if there is none)."""
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
            msg = f"no Cloud Images account block named {name!r}; see `cloudimages accounts list`"
            raise ConfigurationError(msg) from err
