"""The HTTP/1.1 server protocol: uvicorn's httptools parser, accepting what Swift accepts.

Swift's eventlet server takes a request target with raw (unescaped) UTF-8 bytes and any
``Transfer-Encoding`` header, leaving the decision to the application (412 for a path
that is not UTF-8, 501 for ``gzip, chunked``).  h11 answers both with its own 400 before
the application sees them; httptools takes the header but still refuses raw bytes above
0x7F in the target.  So bytes above 0x7F in a request line are percent-escaped before
the parser reads them: the path decodes to the same bytes, and the application decides.

uvicorn also writes every response header name in lower case; Swift (like most servers)
sends ``X-Object-Meta-Color``, and clients that print or compare raw headers see the
difference, so response heads are title-cased on their way out.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_KNOWN_METHODS = frozenset(
    b"GET HEAD POST PUT DELETE COPY OPTIONS PATCH TRACE CONNECT PURGE LOCK UNLOCK MKCOL MOVE"
    b" PROPFIND PROPPATCH SEARCH REPORT MERGE NOTIFY SUBSCRIBE UNSUBSCRIBE LINK UNLINK".split()
)
_STAND_IN_METHOD = b"SOURCE"  # known to httptools, used by no service here


def _escape(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match.group()[0]


class SwiftTolerantProtocol(HttpToolsProtocol):
    """httptools, with raw UTF-8 in the request target escaped on the way in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_request_line = True
        self._at_line_start = True
        self._completed = False  # a request ended during the current read
        self._began_after = False  # and another began in the same read
        self._casing: _TitleCasingTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._casing = _TitleCasingTransport(transport)  # type: ignore[arg-type]
        super().connection_made(self._casing)  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began_after = self._completed
        if self._casing is not None:
            self._casing.pending_heads += 1

    def data_received(self, data: bytes) -> None:
        """Escape the request line, if this read starts one; then parse.

        Where the next request starts is known only once the parser has found the end
        of this one: when that is inside this read (a body read after its answer was
        sent, then the next request), the next request's line was parsed as it came,
        and the following read continues its head, which must not be escaped.
        """
        if self._in_request_line:
            data = self._escape_request_line(data)
        self._completed = self._began_after = False
        super().data_received(data)
        if self._completed:
            self._in_request_line = self._at_line_start = not self._began_after

    def send_400_response(self, msg: str) -> None:
        """Bytes that do not parse after a request the application is answering (the body
        of a PUT sent without Content-Length) must not overtake that answer: like Swift,
        answer the request, then close the connection instead of sending a 400 first."""
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            self.pipeline.clear()
            self.flow.pause_reading()
            return
        super().send_400_response(msg)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._completed, self._began_after = True, False

    def _escape_request_line(self, data: bytes) -> bytes:
        """Escape high bytes up to the end of the request line (which may span reads).

        httptools refuses a method it does not know (``LICK``) with a 400; such a method
        reaches the application as ``SOURCE`` (one httptools knows and no service uses), so
        the application answers 405, as Swift does.
        """
        start = len(data) - len(data.lstrip(b"\r\n")) if self._at_line_start else 0
        end = data.find(b"\n", start)
        cut = len(data) if end < 0 else end
        line = _HIGH_BYTE.sub(_escape, data[start:cut])
        method, space, rest = line.partition(b" ")
        at_start, self._at_line_start = self._at_line_start, False
        if at_start and space and method not in _KNOWN_METHODS and _TOKEN.fullmatch(method):
            line = _STAND_IN_METHOD + b" " + rest
        self._in_request_line = end < 0
        return data[:start] + line + data[cut:]


def _title(match: re.Match[bytes]) -> bytes:
    return match.group(1).title() + b":"


class _TitleCasingTransport:
    """The connection's transport, title-casing header names in each response head."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.pending_heads = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        status = bytes(data[:13])
        if self.pending_heads and status[:9] == b"HTTP/1.1 " and status[9:] != b"100 ":
            self.pending_heads -= 1
            head, sep, rest = bytes(data).partition(b"\r\n\r\n")
            data = _HEADER_NAME.sub(_title, head) + sep + rest
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
