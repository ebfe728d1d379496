"""Fault injection over HTTP: the middleware that applies rules, and the admin API.

``FaultMiddleware`` applies ``FaultRule``s in front of each service; admins
change them under ``/admin/faults`` (never faulted, so a ``*`` rule can always
be cleared).

Actions: ``status`` answers with ``status`` (and ``Retry-After``); ``reset``
drops the connection (see ``reset_connection``); ``latency`` waits ``delay``
seconds, then serves; ``truncate`` serves the request (it takes effect) but cuts
the answer short in the middle of its body, as a dropped proxy connection does.
``delay`` holds back the others as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..identity import Identity, IdentityFault
from .injector import FaultInjector
from .models import FaultRule, TaskOutcome
from .spec import describe

ADMIN_PREFIX = "/admin/faults"
_ONE_BYTE = [(b"content-length", b"1")]
_Item = TypeVar("_Item", FaultRule, TaskOutcome)


@dataclass
class FaultMiddleware:
    """Apply an injector's rules to the HTTP requests of one service."""

    app: ASGIApp
    injector: FaultInjector
    service_name: str  # identity, images:DFW, files:IAD...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = None
        if scope["type"] == "http" and not scope["path"].startswith(ADMIN_PREFIX):
            rule = self.injector.pick(self.service_name, scope["method"], scope["path"])
        if rule is not None and rule.delay:
            await asyncio.sleep(rule.delay)
        if rule is None or rule.action == "latency":
            await self.app(scope, receive, send)
        elif rule.action == "reset":
            await reset_connection(receive, send)
        elif rule.action == "truncate":
            await self.app(scope, receive, _cut_short(receive, send))
        else:  # read the body first, so that the client gets to read our answer
            while (event := await receive())["type"] == "http.request" and event.get("more_body"):
                pass
            await self._answer(rule)(scope, receive, send)

    def _answer(self, rule: FaultRule) -> Response:
        headers = {"X-Injected-Fault": rule.id or ""}
        if rule.retry_after is not None:  # "1", not "1.0"; fractions help fast tests
            headers["Retry-After"] = f"{rule.retry_after:.3f}".rstrip("0").rstrip(".")
        if self.service_name.startswith("files"):
            return PlainTextResponse(f"Injected fault ({rule.status})", rule.status, headers)
        body = {"message": "Injected fault", "code": rule.status}
        return JSONResponse(body, rule.status, headers)


async def reset_connection(receive: Receive, send: Send) -> None:
    """Abort the client's TCP connection with a RST, sending no response at all.

    ASGI cannot say this (uvicorn answers 500 for an app that raises before
    responding), but uvicorn's ``send`` (h11 and httptools) is a bound method of
    its request cycle, which holds the asyncio transport: SO_LINGER 0 then
    ``abort()`` makes the kernel send RST; httpx raises ``ReadError``
    (``RemoteProtocolError`` if only a FIN gets through). With no transport in
    reach (another server, or ``send`` wrapped outside this middleware) the
    response is started and cut short instead.
    """
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if not callable(getattr(transport, "abort", None)):
        await send({"type": "http.response.start", "status": 500, "headers": _ONE_BYTE})
        return  # the server closes the connection of an unfinished response
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    with contextlib.suppress(TimeoutError):  # wait for the server to notice, or it answers 500
        async with asyncio.timeout(5):
            while (await receive())["type"] != "http.disconnect":
                pass


def _cut_short(receive: Receive, send: Send) -> Send:
    """A ``send`` that announces more body than it sends, then resets the connection."""
    started: dict[str, Any] = {}

    async def cutting(message: Any) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
            return
        if message["type"] != "http.response.body" or not started:
            return
        body = bytes(message.get("body", b""))
        announced = str(len(body) + 1024).encode()
        headers = [(k, v) for k, v in started["headers"] if k.lower() != b"content-length"]
        await send({**started, "headers": [*headers, (b"content-length", announced)]})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        started.clear()
        await reset_connection(receive, send)

    return cutting


_Handler = Callable[[Request], Awaitable[Response]]


def fault_admin_routes(injector: FaultInjector, identity: Identity) -> list[Route]:
    """``/admin/faults``: change the faults of a running local cloud (admins only)."""

    def admin(handler: _Handler) -> _Handler:
        async def endpoint(request: Request) -> Response:
            account = identity.validate(request.headers.get("x-auth-token"))
            if account is None:
                msg = "An admin X-Auth-Token is required to change faults."
                return IdentityFault(401, "unauthorized", msg).response()
            if not account.is_admin:
                msg = f"User {account.username!r} is not an admin; fault injection needs one."
                return IdentityFault(403, "forbidden", msg).response()
            try:
                return await handler(request)
            except IdentityFault as fault:
                return fault.response()

        return endpoint

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            rule = injector.add(await _read(request, FaultRule))
            return JSONResponse(rule.model_dump(), status_code=201)
        if request.method == "DELETE":
            injector.clear()
            return Response(status_code=204)
        rules = [r.model_dump() for r in injector.rules()]
        outcomes = [o.model_dump() for o in injector.task_outcomes()]
        return JSONResponse({"faults": rules, "task_outcomes": outcomes})

    async def add_task(request: Request) -> Response:
        outcome = injector.add_task_outcome(await _read(request, TaskOutcome))
        return JSONResponse(outcome.model_dump(), status_code=201)

    async def remove(request: Request) -> Response:
        try:
            injector.remove(request.path_params["fault_id"])
        except KeyError as err:
            raise IdentityFault(404, "itemNotFound", str(err.args[0])) from None
        return Response(status_code=204)

    return [
        Route(ADMIN_PREFIX, admin(faults), methods=["GET", "POST", "DELETE"]),
        Route(f"{ADMIN_PREFIX}/tasks", admin(add_task), methods=["POST"]),
        Route(ADMIN_PREFIX + "/{fault_id}", admin(remove), methods=["DELETE"]),
    ]


async def _read(request: Request, model: type[_Item]) -> _Item:
    """The request's JSON object as ``model``; 400 with pydantic's words otherwise."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as err:
        msg = f"Invalid {model.__name__}: {describe(err)}"
        raise IdentityFault(400, "badRequest", msg) from None
