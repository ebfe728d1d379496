"""Account blocks over Prefect's REST API with httpx: found, listed, deleted, opened.

Blocks stay the one source of truth: each command reads the block it needs
when it needs it (one request to the Prefect API, milliseconds on this
machine), so a changed or removed block is seen by the next command and no key
is ever written to disk by the CLI. What is saved is read back as the block's
JSON document; ``OPENERS`` turns each account block type's document into a
client without importing Prefect or the block classes (the block classes do
the same from their fields: tests check both agree).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..client import Credentials, ImagesClient
    from ..client.keystone import KeystoneCredentials
    from ._connect import PrefectApi

__all__ = ["OPENERS", "AccountStore", "openstack_credentials", "rackspace_credentials"]

Document = dict[str, Any]
PAGE = 200
#: 503 is how Prefect's SQLite answers "database is locked" (prefect-notes G1): try again.
BUSY_RETRIES, BUSY_PAUSE = 4, 0.5


def rackspace_credentials(data: dict[str, Any], region: str | None) -> Credentials:
    """``CloudImagesAccount.credentials(region)``, from the block's saved fields."""
    from ..client import DEFAULT_IDENTITY_URL, Credentials

    return Credentials(
        username=data["username"],
        api_key=SecretStr(data["api_key"]),
        identity_url=data.get("identity_url") or DEFAULT_IDENTITY_URL,
        region=(region or data.get("region") or None),
        internal=bool(data.get("use_internal_url")),
    )


def _rackspace_images(data: dict[str, Any], region: str | None) -> ImagesClient:
    from ..client import AccountSession, ImagesClient

    return ImagesClient(AccountSession(rackspace_credentials(data, region)))


def openstack_credentials(data: dict[str, Any]) -> KeystoneCredentials:
    """``OpenStackAccount.credentials()``, from the block's saved fields."""
    from ..client.keystone import KeystoneCredentials

    fields = {k: v for k, v in data.items() if k in KeystoneCredentials.model_fields}
    for secret in ("password", "application_credential_secret"):
        fields[secret] = SecretStr(data[secret]) if data.get(secret) else None
    return KeystoneCredentials(**fields)


def _openstack_images(data: dict[str, Any], region: str | None) -> ImagesClient:
    from ..client.keystone import KeystoneSession
    from ..client.openstack import OpenStackCloud

    session = KeystoneSession(openstack_credentials(data))
    where = region or data.get("region") or session.region
    return OpenStackCloud(session, where, import_method=data.get("import_method", "auto")).images


#: Block type slug -> how its saved document opens the account's images client.
OPENERS: dict[str, Callable[[dict[str, Any], str | None], ImagesClient]] = {
    "cloud-images-account": _rackspace_images,
    "openstack-account": _openstack_images,
}


class AccountStore:
    """The account blocks of one Prefect API (every type in ``OPENERS``)."""

    def __init__(self, api: PrefectApi) -> None:
        self.api = api

    def find(self, name: str, *, secrets: bool) -> Document | None:
        """The block document named ``name`` (a Rackspace one first, as blocks load), or None."""
        found = self.named(name, secrets=secrets)
        return found[0] if found else None

    def named(self, name: str, *, secrets: bool) -> list[Document]:
        """Every account block document named ``name`` (one per type at most)."""
        found = self._filter({"name": {"any_": [name]}}, secrets=secrets, offset=0)
        return sorted(found, key=lambda document: list(OPENERS).index(slug_of(document)))

    def all(self) -> list[Document]:
        """Every account block, by name; secret fields left out."""
        documents: list[Document] = []
        while True:
            page = self._filter({}, secrets=False, offset=len(documents))
            documents += page
            if len(page) < PAGE:
                return documents

    def delete(self, document: Document) -> None:
        self._request("DELETE", f"/block_documents/{document['id']}")

    def images_client(self, document: Document, region: str | None) -> ImagesClient:
        return OPENERS[slug_of(document)](document["data"], region)

    def _filter(self, documents: dict[str, Any], *, secrets: bool, offset: int) -> list[Document]:
        body = {
            "block_documents": {**documents, "is_anonymous": {"eq_": False}},
            "block_types": {"slug": {"any_": sorted(OPENERS)}},
            "include_secrets": secrets,
            "sort": "NAME_ASC",
            "offset": offset,
            "limit": PAGE,
        }
        answer: list[Document] = self._request("POST", "/block_documents/filter", json=body).json()
        return answer

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with (
            _reaching(self.api.url),
            httpx.Client(headers=self.api.headers, timeout=30, verify=self.api.verify) as http,
        ):
            for attempt in range(BUSY_RETRIES + 1):
                answer = http.request(method, f"{self.api.url}{path}", **kwargs)
                if answer.status_code != 503 or attempt == BUSY_RETRIES:
                    break
                time.sleep(BUSY_PAUSE)
        if answer.status_code == 401:
            msg = f"the Prefect API at {self.api.url} refused the credentials (HTTP 401)"
            raise ConfigurationError(msg)
        if answer.is_error:
            code = answer.status_code
            msg = f"the Prefect API at {self.api.url} answered {method} {path} with {code}"
            raise ConfigurationError(msg)
        return answer


def _tls(verify: str | bool) -> ssl.SSLContext | bool:
    """httpx's ``verify``: a CA file becomes a context (a path alone is deprecated)."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def slug_of(document: Document) -> str:
    block_type = document.get("block_type") or {}
    return str(block_type.get("slug") or "")


@contextmanager
def _reaching(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as err:
        msg = (
            f"cannot reach the Prefect API at {url} ({err}); start it, or unset"
            " PREFECT_API_URL to let cloudimages run one in the background"
        )
        raise ConfigurationError(msg) from err
