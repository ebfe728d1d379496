"""The parsed request every object-store handler works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote_to_bytes

from starlette.requests import Request

from ..accounts import Account, Accounts
from ..subusers import files_access
from .access import parse_acl, principal_matches
from .http import HTML, SwiftError
from .limits import MAX_ACCOUNT_NAME_LENGTH, MAX_CONTAINER_NAME_LENGTH, MAX_OBJECT_NAME_LENGTH
from .store import ObjectStore


@dataclass
class Ctx:
    """One request: its path parts, its caller and the region's store."""

    request: Request
    store: ObjectStore
    accounts: Accounts
    account: str
    container: str | None
    obj: str | None
    caller: Account | None
    token_sent: bool
    query: dict[str, str] = field(default_factory=dict)
    tempurl_ok: bool = False
    tempurl_scope: str = ""  # "account" or "container": which key signed the temp URL

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self):  # type: ignore[no-untyped-def]
        return self.request.headers

    @property
    def is_owner(self) -> bool:
        """The account owner, or a sub-user with a Cloud Files admin role."""
        return self.own_access(self.account) == "write"

    def own_access(self, account: str) -> str:
        """``write``, ``read`` or ``none``: what the caller's roles allow in ``account``."""
        if self.caller is None or self.caller.storage_account != account:
            return "none"
        return files_access(self.caller)

    def denied(self) -> SwiftError:
        """401 for an anonymous caller, 403 for a known one: Swift's rule."""
        return SwiftError(403 if self.caller is not None else 401)

    def require_owner(self) -> None:
        if not self.is_owner:
            raise self.denied()

    def require_account_read(self) -> None:
        """Listing or reading an account: its owner, or a sub-user with a read role."""
        if self.own_access(self.account) == "none":
            raise self.denied()

    def require(self, need: str, container: str | None = None, account: str | None = None) -> None:
        """Allow ``read``, ``list`` or ``write`` on a container of some account."""
        account = account or self.account
        container = container or self.container
        own = self.own_access(account)
        if own == "write" or (own == "read" and need != "write"):
            return
        same_scope = self.tempurl_scope == "account" or container == self.container
        if self.tempurl_ok and account == self.account and same_scope:
            return
        record = self.store.get_container(account, container or "")
        if record is None:
            raise self.denied()
        header = "x-container-write" if need == "write" else "x-container-read"
        acl = parse_acl(record.meta.get(header))
        if need != "write" and acl.public and (need == "read" or acl.listings):
            return
        if self.caller is not None and principal_matches(acl, self.caller):
            return
        raise self.denied()


def split_path(path: str) -> tuple[str, str | None, str | None]:
    """``/v1/<account>[/<container>[/<object>]]`` with Swift's rules and answers.

    An empty segment before another one is a 404 (``/v1//c/o``, ``//v1/a``), a path
    without an account a 412 ``Bad URL``, another API version a 400.
    """
    segs = path.split("/", 4)
    if segs[0] or len(segs) < 2 or not segs[1] or not all(segs[1:-1]):
        raise SwiftError(404)
    version, account, container, obj = (segs[1:] + [""] * 4)[:4]
    if not account:
        raise SwiftError(412, "Bad URL")
    if version not in ("v1", "v1.0"):
        raise SwiftError(400)
    if len(account.encode()) > MAX_ACCOUNT_NAME_LENGTH:
        raise SwiftError(400, "Account name length too long")
    if container:
        check_container_name(container)
    if obj:
        check_object_name(obj)
    return account, container or None, obj or None


def decoded_path(request: Request) -> str:
    """The request path percent-decoded as strict UTF-8; 412 for bytes that are not.

    The server's own decoding replaces invalid bytes with U+FFFD, which would
    silently rename the object; Swift refuses such names instead.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    try:
        return unquote_to_bytes(raw.split(b"?", 1)[0]).decode("utf-8")
    except UnicodeDecodeError:
        raise SwiftError(412, "Invalid UTF8 or contains NULL") from None


def check_container_name(name: str) -> None:
    if len(name.encode()) > MAX_CONTAINER_NAME_LENGTH:
        msg = (
            f"Container name length of {len(name.encode())} longer than {MAX_CONTAINER_NAME_LENGTH}"
        )
        raise SwiftError(400, msg, content_type=HTML)
    if "\x00" in name:
        raise SwiftError(412, "Invalid UTF8 or contains NULL")


def check_object_name(name: str) -> None:
    if len(name.encode()) > MAX_OBJECT_NAME_LENGTH:
        msg = f"Object name length of {len(name.encode())} longer than {MAX_OBJECT_NAME_LENGTH}"
        raise SwiftError(400, msg, content_type=HTML)
    if "\x00" in name:
        raise SwiftError(412, "Invalid UTF8 or contains NULL")


def parse_query(raw: str) -> dict[str, str]:
    """Last value wins, blank values kept (``?multipart-manifest=get&format``)."""
    parsed = parse_qs(raw, keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}
