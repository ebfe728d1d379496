"""The HTTP/1.1 server protocol: uvicorn's httptools parser, accepting what Swift accepts.

Swift's eventlet server takes a request target with raw (unescaped) UTF-8 bytes and any
``Transfer-Encoding`` header, leaving the decision to the application (412 for a path
that is not UTF-8, 501 for ``gzip, chunked``).  h11 answers both with its own 400 before
the application sees them; httptools takes the header but still refuses raw bytes above
0x7F in the target.  So bytes above 0x7F in a request line are percent-escaped before
the parser reads them: the path decodes to the same bytes, and the application decides.
"""

from __future__ import annotations

import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _escape(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match.group()[0]


class SwiftTolerantProtocol(HttpToolsProtocol):
    """httptools, with raw UTF-8 in the request target escaped on the way in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_request_line = True

    def data_received(self, data: bytes) -> None:
        if self._in_request_line:
            data = self._escape_request_line(data)
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_request_line = True  # the next bytes start a request line

    def _escape_request_line(self, data: bytes) -> bytes:
        """Escape high bytes up to the end of the request line (which may span reads)."""
        start = len(data) - len(data.lstrip(b"\r\n"))
        end = data.find(b"\n", start)
        self._in_request_line = end < 0
        cut = len(data) if end < 0 else end
        return data[:start] + _HIGH_BYTE.sub(_escape, data[start:cut]) + data[cut:]
