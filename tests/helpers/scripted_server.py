"""How client tests make the network misbehave: local-cloud faults, or a scripted server.

``Faults`` drives the local cloud's own fault injection (``/admin/faults`` as its
admin): error statuses, resets, latency and forced task outcomes. Prefer it.

``Scripted`` is a small real HTTP server answering each request by a script, for
what that injection cannot produce: ``FaultMiddleware`` acts *before* the service
runs, so it cannot lose the answer of a request the service has already carried
out (a ``latency`` rule does not help either: once the client gives up, uvicorn
tells the app the client is gone and reading the body fails, so nothing is
created), and its ``Retry-After`` is always delta-seconds, never an HTTP date.
A ``Step`` with ``forward`` passes the request on to a real service (the local
cloud) and then, with ``reset``, drops the connection instead of relaying the
answer: the service acted, the client never heard. Everything runs over real
sockets; uvicorn serves the ASGI app in a thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from cloudimages.localcloud.faults import reset_connection
from tests.helpers.identity import login

__all__ = ["Faults", "Hit", "Scripted", "Step", "root_of", "serve"]

#: Hop-by-hop and length headers that must not be copied between the two connections.
_NOT_RELAYED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


@dataclass
class Faults:
    """The ``/admin/faults`` API of a running local cloud, as its admin."""

    url: str
    headers: dict[str, str]

    @classmethod
    def of(cls, identity_url: str) -> Faults:
        admin = login(identity_url, "admin", "admin-api-key")
        return cls(f"{identity_url.removesuffix('/v2.0')}/admin/faults", admin.headers)

    def add(self, **rule: Any) -> str:
        """Add an HTTP fault rule (see ``FaultRule``); returns its id."""
        return self._post(self.url, rule)

    def add_task_outcome(self, **outcome: Any) -> str:
        """Force how the next task(s) end, e.g. ``outcome="failure", code="396"``."""
        return self._post(f"{self.url}/tasks", outcome)

    def fired(self, item_id: str) -> int:
        """How often a rule or task outcome fired so far."""
        doc = httpx.get(self.url, headers=self.headers).json()
        items = [*doc["faults"], *doc["task_outcomes"]]
        return int(next(item["fired"] for item in items if item["id"] == item_id))

    def clear(self) -> None:
        assert httpx.delete(self.url, headers=self.headers).status_code == 204

    def _post(self, url: str, doc: dict[str, Any]) -> str:
        created = httpx.post(url, json=doc, headers=self.headers)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@dataclass
class Step:
    """What the server does with one request.

    ``forward`` (a base URL such as ``http://127.0.0.1:PORT``) sends the request on to
    that service first; its answer is relayed unless ``reset``. Without ``forward`` the
    answer is ``status`` with ``body`` (JSON) and ``headers``, or a reset connection.
    ``delay`` is waited first.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    delay: float = 0.0
    forward: str | None = None


@dataclass
class Hit:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]


class Scripted:
    """An ASGI app answering each (method, path) by its script; unscripted requests get
    ``default`` (200 ``{}`` unless changed, e.g. to ``Step(forward=...)`` for a proxy)."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Step]] = {}
        self.hits: list[Hit] = []
        self.url = ""
        self.default = Step(body={})

    def script(self, method: str, path: str, *steps: Step) -> str:
        """Answer the next requests of ``method path`` with ``steps``; returns the URL."""
        self.scripts[(method, path)] = list(steps)
        return f"{self.url}{path}"

    def count(self, method: str, path: str) -> int:
        return sum(1 for hit in self.hits if (hit.method, hit.path) == (method, path))

    def reset(self) -> None:
        """Forget scripts and hits, and answer unscripted requests with 200 ``{}`` again."""
        self.scripts.clear()
        self.hits.clear()
        self.default = Step(body={})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.hits.append(Hit(method, path, headers))
        steps = self.scripts.get((method, path), [])
        step = steps.pop(0) if steps else self.default
        if step.delay:
            await asyncio.sleep(step.delay)
        relayed = await _forward(scope, receive, step.forward) if step.forward else None
        if step.reset:
            await reset_connection(receive, send)
            return
        answer: Response
        if relayed is not None:
            kept = {k: v for k, v in relayed.headers.items() if k.lower() not in _NOT_RELAYED}
            answer = Response(relayed.content, relayed.status_code, kept)
        elif step.body is None:
            answer = Response(status_code=step.status, headers=step.headers)
        else:
            answer = JSONResponse(step.body, step.status, step.headers)
        await answer(scope, receive, send)


async def _forward(scope: Scope, receive: Receive, upstream: str) -> httpx.Response:
    """Send the request as received to ``upstream`` and return its (complete) answer."""
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    headers = [
        (k.decode(), v.decode())
        for k, v in scope["headers"]
        if k.decode().lower() not in _NOT_RELAYED
    ]
    raw_path = scope.get("raw_path") or scope["path"].encode()
    url = f"{upstream.rstrip('/')}{raw_path.decode()}"
    if scope["query_string"]:
        url += f"?{scope['query_string'].decode()}"
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.request(scope["method"], url, headers=headers, content=body)


@contextmanager
def serve(app: Scripted | None = None) -> Iterator[Scripted]:
    """Serve ``app`` (a new ``Scripted`` by default) on a free loopback port until exit."""
    app = app or Scripted()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, lifespan="off", log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def root_of(url: str) -> str:
    """``scheme://host:port`` of a URL: what ``Step.forward`` expects."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"
