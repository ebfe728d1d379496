"""The HTTP server takes what Swift's server takes, byte for byte on a raw socket."""

from __future__ import annotations

import re
import socket
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from cloudimages.localcloud import LocalCloud
from tests.helpers.identity import Session


def _send(url: str, *pieces: bytes, pause: float = 0.0) -> bytes:
    """Send the pieces (pausing between them) and read the answer until the server closes."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.settimeout(10)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(pause)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


@pytest.fixture
def files(alice: Session) -> tuple[str, str]:
    """alice's storage URL in DFW and its path."""
    url = alice.endpoint("object-store", "DFW")
    return url, urlsplit(url).path


def _head(method: str, path: str, token: str, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: x", f"X-Auth-Token: {token}", *extra]
    return "\r\n".join([*lines, "Connection: close", "", ""]).encode("utf-8", "surrogateescape")


def test_raw_utf8_request_target_is_taken(files: tuple[str, str], alice: Session) -> None:
    """Unescaped UTF-8 in the path creates the container; invalid UTF-8 is Swift's 412."""
    url, path = files
    name = f"ü-{uuid.uuid4().hex[:6]}"
    answer = _send(url, _head("PUT", f"{path}/{name}", alice.token, "Content-Length: 0"))
    assert answer.startswith(b"HTTP/1.1 201")
    assert httpx.head(f"{url}/{name}", headers=alice.headers).status_code == 204
    invalid = _head("PUT", f"{path}/x", alice.token, "Content-Length: 0").replace(b"/x ", b"/\xff ")
    answer = _send(url, invalid)
    assert answer.startswith(b"HTTP/1.1 412")
    assert answer.endswith(b"Invalid UTF8 or contains NULL")


def test_transfer_codings_and_missing_length_get_swifts_answers(
    files: tuple[str, str], alice: Session
) -> None:
    """gzip,chunked is 501; a body without Content-Length is 411, not the parser's 400."""
    url, path = files
    assert httpx.put(f"{url}/tc", headers=alice.headers).status_code in (201, 202)
    te = _head("PUT", f"{path}/tc/o", alice.token, "Transfer-Encoding: gzip, chunked")
    assert _send(url, te + b"not chunked at all").startswith(b"HTTP/1.1 501")
    bare = _head("PUT", f"{path}/tc/o", alice.token)
    assert _send(url, bare + b"a body nobody announced").startswith(b"HTTP/1.1 411")


def test_unknown_method_is_405_and_headers_are_title_cased(
    files: tuple[str, str], alice: Session
) -> None:
    """LICK gets 405 like Swift; header names come as Swift writes them."""
    url, path = files
    answer = _send(url, _head("LICK", path, alice.token))
    assert answer.startswith(b"HTTP/1.1 405")
    answer = _send(url, _head("HEAD", path, alice.token))
    assert b"\r\nX-Account-Container-Count: " in answer
    assert b"\r\nX-Trans-Id: " in answer


def test_request_line_split_across_reads(cloud: LocalCloud, alice: Session) -> None:
    """A request line arriving in pieces is read whole (no method rewrite mid-line)."""
    url = alice.endpoint("object-store", "DFW")
    path = urlsplit(url).path
    request = _head("GET", f"{path}?format=json", alice.token)
    answer = _send(url, request[:2], request[2:9], request[9:], pause=0.05)
    assert answer.startswith(b"HTTP/1.1 200")


def test_expect_100_continue_keeps_the_final_head_cased(
    files: tuple[str, str], alice: Session
) -> None:
    """After ``100 Continue`` the real answer still carries Swift-cased header names."""
    url, path = files
    assert httpx.put(f"{url}/ec", headers=alice.headers).status_code in (201, 202)
    head = _head("PUT", f"{path}/ec/o", alice.token, "Content-Length: 2", "Expect: 100-continue")
    answer = _send(url, head, b"hi", pause=0.2)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201")
    assert b"\r\nEtag: " in answer


def _one_answer(sock: socket.socket) -> bytes:
    """Read one whole answer (head, then ``Content-Length`` bytes) of a kept-alive connection."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert found is not None, head
    length = int(found.group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_body_read_after_its_answer_then_the_next_request_in_one_read(
    cloud: LocalCloud,
) -> None:
    """A body the server answered before reading, and the next request, in one read.

    The client sends a head, gets its answer (405, body unread), then sends that body
    together with the next request's head; the end of that head and its body (UTF-8)
    come in a later read, which is not a request line: its bytes are not escaped (the
    body was lengthened and cut, a 400, or the request lost, a client's timeout).
    """
    parts = urlsplit(cloud.identity_url)
    unread = b'{"x": "\xc3\xbc"}'
    login = (
        b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice",'
        b' "apiKey": "alice-api-key"}}, "note": "\xc3\xbc"}'
    )
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.settimeout(10)
        sock.sendall(b"PATCH /v2.0 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(unread))
        assert _one_answer(sock).startswith(b"HTTP/1.1 405")
        head = (
            b"POST /v2.0/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n" % len(login)
        )
        sock.sendall(unread + head)
        time.sleep(0.2)
        sock.sendall(b"\r\n" + login)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"token"' in answer
