"""One object store seen through a small, target-neutral interface.

The conformance suite runs every behaviour test against real OpenStack Swift 2.38.3 and
against the local cloud.  Both are reached over plain HTTP; the only things that differ
are how a token is obtained (tempauth v1.0 vs Identity v2.0), what the account is called
and how an ACL names a user.  Those differences are captured here, once.
"""

from __future__ import annotations

import http.client
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import httpx

CLOUD_FILES_MAX_FILE_SIZE = 5368709122  # Swift's default, also Cloud Files' documented cap


@dataclass(frozen=True)
class Account:
    """A storage account and a token of its owner."""

    storage_url: str
    token: str
    acl_principal: str

    @property
    def account(self) -> str:
        """Last path segment of the storage URL: AUTH_test or MossoCloudFS_…."""
        return self.storage_url.rstrip("/").rsplit("/", 1)[1]

    @property
    def path(self) -> str:
        """Path of the storage URL, e.g. /v1/AUTH_test."""
        return urlsplit(self.storage_url).path.rstrip("/")

    @property
    def auth(self) -> dict[str, str]:
        """Headers that authenticate as the owner."""
        return {"X-Auth-Token": self.token}

    def url(self, *parts: str) -> str:
        """Storage URL joined with quoted container/object parts.

        Dots are escaped too, so a name such as `a/../b` reaches the server as written
        instead of being folded by the HTTP client.
        """
        quoted = (quote(p).replace(".", "%2E") for p in parts)
        return "/".join([self.storage_url.rstrip("/"), *quoted])


Login = Callable[[str], Account]


@dataclass
class ObjectStoreTarget:
    """Per-test view of one store: two accounts, an HTTP client and container bookkeeping."""

    name: str
    root_url: str
    max_file_size: int
    login: Login
    a: Account
    b: Account
    empty: Account
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    _created: list[tuple[Account, str]] = field(default_factory=list)

    @classmethod
    def open(
        cls, *, name: str, root_url: str, max_file_size: int, login: Login
    ) -> ObjectStoreTarget:
        """Log in as the two test accounts and the never-written-to empty account."""
        return cls(
            name=name,
            root_url=root_url,
            max_file_size=max_file_size,
            login=login,
            a=login("a"),
            b=login("b"),
            empty=login("empty"),
        )

    def reauth(self, role: str = "a") -> Account:
        """A fresh token for the account playing ``role`` ("a", "b" or "empty")."""
        return self.login(role)

    def container(self, owner: Account | None = None, *, prefix: str = "conf") -> str:
        """Create a uniquely named container in ``owner`` (default a); it is removed later."""
        owner = owner or self.a
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        resp = self.http.put(owner.url(name), headers=owner.auth)
        assert resp.status_code == 201, resp.text
        self._created.append((owner, name))
        return name

    def adopt(self, owner: Account, name: str) -> None:
        """Remove ``name`` at cleanup although this test created it by other means."""
        self._created.append((owner, name))

    def cleanup(self) -> None:
        """Best effort: empty and delete every container this test created, newest first."""
        for owner, name in reversed(self._created):
            with suppress(httpx.HTTPError, ValueError):
                empty_container(self.http, owner, name)
                self.http.delete(owner.url(name), headers=owner.auth)
        self._created.clear()
        self.http.close()


def empty_container(client: httpx.Client, owner: Account, name: str) -> None:
    """Delete every object in a container, page by page, until a pass deletes nothing."""
    while True:
        listing = client.get(owner.url(name), headers=owner.auth, params={"format": "json"})
        if listing.status_code != 200 or not listing.json():
            return
        deleted = [
            client.delete(owner.url(name, entry["name"]), headers=owner.auth).status_code
            for entry in listing.json()
        ]
        if 204 not in deleted:
            return


# --- raw HTTP, for what httpx would normalise or refuse to send ---------------------------


@dataclass(frozen=True)
class RawResponse:
    """Status line and body of a request sent with http.client."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def raw_request(
    root_url: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes = b"",
) -> RawResponse:
    """Send ``path`` byte for byte (no ``..`` folding, no quoting) and read the answer."""
    parts = urlsplit(root_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return RawResponse(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def send_headers_only(root_url: str, method: str, path: str, headers: Mapping[str, str]) -> int:
    """Send a request head but no body and return the status of the early answer."""
    parts = urlsplit(root_url)
    with socket.create_connection(
        (parts.hostname or "127.0.0.1", parts.port or 80), timeout=30
    ) as sock:
        sock.sendall(_head(method, path, parts.netloc, headers))
        status_line = _read_line(sock)
    return int(status_line.split()[1])


def send_truncated(root_url: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
    """Announce more bytes than ``body`` holds, send ``body`` and hang up mid-upload."""
    parts = urlsplit(root_url)
    with socket.create_connection(
        (parts.hostname or "127.0.0.1", parts.port or 80), timeout=30
    ) as sock:
        sock.sendall(_head("PUT", path, parts.netloc, headers) + body)


def _head(method: str, path: str, host: str, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_line(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    """A generator body, so httpx sends ``Transfer-Encoding: chunked``."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
