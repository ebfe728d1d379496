"""Swift-shaped responses and header handling shared by every object handler."""

from __future__ import annotations

import time
import uuid
from email.utils import formatdate
from typing import Any

from starlette.responses import Response

from .limits import (
    MAX_META_COUNT,
    MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE,
    MAX_META_VALUE_LENGTH,
)

REASONS = {
    200: ("OK", ""),
    201: ("Created", ""),
    202: ("Accepted", "The request is accepted for processing."),
    204: ("No Content", ""),
    206: ("Partial Content", ""),
    304: ("Not Modified", ""),
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either malformed"
        " or otherwise incorrect.",
    ),
    401: (
        "Unauthorized",
        "This server could not verify that you are authorized to access the document"
        " you requested.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    408: ("Request Timeout", "The server has waited too long for the request to be sent."),
    411: ("Length Required", "Length Required"),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    500: (
        "Internal Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    503: ("Service Unavailable", "The server is currently unavailable. Please try again later."),
}


class SwiftError(Exception):
    """Stop handling and answer with this status (and optional plain-text body)."""

    def __init__(
        self,
        status: int,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ):
        super().__init__(f"{status} {body or ''}")
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type

    def response(self, method: str = "GET") -> Response:
        return swift_response(
            self.status, self.body, self.headers, method=method, content_type=self.content_type
        )


HTML = "text/html; charset=UTF-8"


def header_text(value: str) -> str:
    """A header value as text: HTTP hands over bytes (read as Latin-1), Swift means UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def header_bytes(text: str) -> str:
    """Text to send in a header: its UTF-8 bytes, spelled as the Latin-1 string ASGI wants."""
    return text.encode("utf-8").decode("latin-1")


def trans_id() -> str:
    return f"tx{uuid.uuid4().hex[:21]}-{int(time.time()):010x}"


def swift_response(
    status: int,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    content_type: str | None = None,
) -> Response:
    """A response with Swift's default bodies and its request-id headers."""
    out = dict(headers or {})
    if body is None and status >= 400:
        title, explanation = REASONS.get(status, ("Error", ""))
        body = f"<html><h1>{title}</h1><p>{explanation}</p></html>"
        content_type = content_type or "text/html; charset=UTF-8"
    elif isinstance(body, str) and content_type is None:
        content_type = "text/plain"
    data = body.encode() if isinstance(body, str) else (body or b"")
    out.setdefault("Content-Type", content_type or "text/html; charset=UTF-8")
    tid = trans_id()
    out["X-Trans-Id"] = tid
    out["X-Openstack-Request-Id"] = tid
    if method == "HEAD" or status in (204, 304):
        out.setdefault("Content-Length", str(len(data)) if method == "HEAD" else "0")
        return _HeadResponse(status_code=status, headers=out)
    return Response(data, status_code=status, headers=out)


class _HeadResponse(Response):
    """A HEAD answer that keeps the Content-Length the GET would have."""

    def __init__(self, status_code: int, headers: dict[str, str]) -> None:
        super().__init__(b"", status_code=status_code)
        self.raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]


def http_date(ts: float) -> str:
    """Last-Modified form; Swift rounds the timestamp up to the next second."""
    return formatdate(int(ts) + (1 if ts % 1 else 0), usegmt=True)


def x_timestamp(ts: float) -> str:
    return f"{ts:016.5f}"


def title(key: str) -> str:
    return "-".join(part.capitalize() for part in key.split("-"))


def meta_updates(headers: Any, kind: str) -> dict[str, str | None]:
    """Collect ``X-<kind>-Meta-*`` and ``X-Remove-<kind>-Meta-*`` from a request."""
    set_prefix, remove_prefix = f"x-{kind}-meta-", f"x-remove-{kind}-meta-"
    updates: dict[str, str | None] = {}
    for key, value in headers.items():
        lower = key.lower()
        if lower.startswith(set_prefix):
            updates[lower] = value
        elif lower.startswith(remove_prefix):
            updates[set_prefix + lower[len(remove_prefix) :]] = None
    return updates


def check_metadata(meta: dict[str, Any], kind: str) -> None:
    """Swift's metadata constraints; 400 with Swift's message when broken."""
    prefix = f"x-{kind}-meta-"
    count, size = 0, 0
    for key, value in meta.items():
        if not key.startswith(prefix) or value is None:
            continue
        name = key[len(prefix) :]
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty")
        count += 1
        size += len(name) + len(value)
        if len(name) > MAX_META_NAME_LENGTH:
            raise SwiftError(400, f"Metadata name too long: {prefix}{name}")
        if len(value) > MAX_META_VALUE_LENGTH:
            raise SwiftError(400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {name}")
    if count > MAX_META_COUNT:
        raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}")
    if size > MAX_META_OVERALL_SIZE:
        raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def public_meta_headers(meta: dict[str, str]) -> dict[str, str]:
    """Stored headers a client may see (system metadata stays inside)."""
    return {title(k): v for k, v in meta.items() if not k.startswith("x-object-sysmeta-")}
