"""Fault injection: make local-cloud services fail on purpose, on demand.

Retries, re-auth and pipelines that survive transient errors are only trusted
once they have met failures they did not choose. ``FaultMiddleware`` applies
``FaultRule``s in front of each service; admins change them under ``/admin/faults``
(never faulted, so a ``*`` rule can always be cleared); the task engine asks
``next_task_outcome`` how an import or export ends.

Actions: ``status`` answers with ``status`` (and ``Retry-After``); ``reset``
drops the connection (see ``reset_connection``); ``latency`` waits ``delay``
seconds, then serves. ``delay`` holds back the other two as well.

Start-up spec (``--faults``, ``CLOUDIMAGES_LOCALCLOUD_FAULTS``), entries split by ``;``::

    http   = SERVICE [":" METHOD [":" PATH]] "=" action ["@" RATE] *("," KEY "=" VALUE)
    action = STATUS | "reset" | "latency:" SECONDS
    task   = "task:" TYPE "=" ("failure:" CODE | "stuck") *("," KEY "=" VALUE)

SERVICE is ``identity``, ``*`` (every service) or two parts (``images:DFW``,
``files:*``); METHOD and PATH are globs, ``*`` if left out; PATH is the rest of
the target (it may hold ``:``), and ``re:REGEX`` must match the whole path. KEY
is a model field: ``retry_after``, ``delay``, ``times``, ``rate``, ``message``::

    images:*:GET:/v2/images*=503@0.5,retry_after=1;files:DFW:PUT:*=reset@0.1;
    task:import=failure:396,times=1

A spec starting with ``[`` or ``{`` is JSON: rule objects, where one with
``outcome`` or ``task_type`` is a ``TaskOutcome``. Invalid specs raise
``ValueError`` naming the entry and what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .identity import Identity, IdentityFault

ADMIN_PREFIX = "/admin/faults"
_DAY = 86400.0
_ONE_BYTE = [(b"content-length", b"1")]


class _Counted(BaseModel):
    """What rules and task outcomes share: an id, a chance and a budget."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description="Assigned by the injector.")
    rate: float = Field(default=1.0, ge=0, le=1, description="Probability of firing.")
    times: int | None = Field(default=None, ge=1, description="Firings left; None: no limit.")
    fired: int = Field(default=0, description="How often it fired.")


class FaultRule(_Counted):
    """Which HTTP requests fail, how, how often and how many times."""

    service: str = Field(default="*", description="Glob over identity, images:DFW, files:IAD.")
    method: str = Field(default="*", description="Glob over the HTTP method.")
    path: str = Field(default="*", description="Glob over the path, or re:REGEX (full match).")
    action: Literal["status", "reset", "latency"] = "status"
    status: int = Field(default=503, ge=400, le=599, description="Status of a status fault.")
    retry_after: float | None = Field(default=None, ge=0, le=_DAY, description="Retry-After.")
    delay: float = Field(default=0.0, ge=0, le=_DAY, description="Seconds to wait first.")

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.action == "latency" and self.delay <= 0:
            msg = "a latency rule needs delay > 0 (the seconds to add)"
            raise ValueError(msg)
        try:
            re.compile(self.path[3:] if self.path.startswith("re:") else "")
        except re.error as err:
            msg = f"path regex {self.path[3:]!r} does not compile: {err}"
            raise ValueError(msg) from None
        return self

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this rule, unless exhausted, applies to the request."""
        if self.times == 0 or not fnmatchcase(service, self.service):
            return False
        if not fnmatchcase(method.upper(), self.method.upper()):
            return False
        if self.path.startswith("re:"):
            return re.fullmatch(self.path[3:], path) is not None
        return fnmatchcase(path, self.path)


class TaskOutcome(_Counted):
    """How an import or export task ends, instead of succeeding."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    task_type: Literal["import", "export", "*"] = "*"
    outcome: Literal["failure", "stuck"] = "failure"
    code: str | None = Field(default=None, description='Failure code, e.g. "396".')
    message: str | None = Field(default=None, description="Failure message.")

    @model_validator(mode="after")
    def _failure_has_code(self) -> TaskOutcome:
        if self.outcome == "failure" and not self.code:
            msg = 'a failure outcome needs a code, e.g. "396"'
            raise ValueError(msg)
        return self


_Item = TypeVar("_Item", FaultRule, TaskOutcome)
_JSON_SPEC = TypeAdapter(list[dict[str, Any]])


class FaultInjector:
    """The live rules and task outcomes; thread-safe; ``seed`` makes rate rolls repeatable."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._ids = itertools.count(1)
        self._rules: list[FaultRule] = []
        self._outcomes: list[TaskOutcome] = []

    def add(self, rule: FaultRule) -> FaultRule:
        """Append a rule; it fires only where no earlier rule fires."""
        return self._store(self._rules, rule, "fault")

    def add_task_outcome(self, outcome: TaskOutcome) -> TaskOutcome:
        return self._store(self._outcomes, outcome, "task")

    def _store(self, items: list[_Item], item: _Item, kind: str) -> _Item:
        with self._lock:
            stored = item.model_copy(update={"id": f"{kind}-{next(self._ids)}", "fired": 0})
            items.append(stored)
            return stored.model_copy()

    def load_spec(self, text: str) -> list[FaultRule | TaskOutcome]:
        """Add everything in a start-up spec; nothing is added if any entry is invalid."""
        return [
            self.add_task_outcome(item) if isinstance(item, TaskOutcome) else self.add(item)
            for item in parse_spec(text)
        ]

    def remove(self, item_id: str) -> None:
        """Remove a rule or task outcome; KeyError if there is none with this id."""
        with self._lock:
            count = len(self._rules) + len(self._outcomes)
            self._rules = [r for r in self._rules if r.id != item_id]
            self._outcomes = [o for o in self._outcomes if o.id != item_id]
            if count == len(self._rules) + len(self._outcomes):
                msg = f"no fault rule or task outcome {item_id!r}"
                raise KeyError(msg)

    def clear(self) -> None:
        with self._lock:
            self._rules, self._outcomes = [], []

    def rules(self) -> list[FaultRule]:
        """All rules, exhausted ones included (``times == 0``)."""
        with self._lock:
            return [r.model_copy() for r in self._rules]

    def task_outcomes(self) -> list[TaskOutcome]:
        with self._lock:
            return [o.model_copy() for o in self._outcomes]

    def pick(self, service: str, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, counted as fired; None to serve it."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(service, method, path) and self._roll(rule.rate):
                    return _fire(rule)
        return None

    def next_task_outcome(self, task_type: str) -> TaskOutcome | None:
        """How the task starting now ends, counted as used; None means it succeeds."""
        with self._lock:
            for outcome in self._outcomes:
                usable = outcome.times != 0 and fnmatchcase(task_type, outcome.task_type)
                if usable and self._roll(outcome.rate):
                    return _fire(outcome)
        return None

    def _roll(self, rate: float) -> bool:
        return rate >= 1.0 or (rate > 0 and self._random.random() < rate)


def _fire(item: _Item) -> _Item:
    item.fired += 1
    item.times = None if item.times is None else item.times - 1
    return item.model_copy()


def parse_spec(text: str) -> list[FaultRule | TaskOutcome]:
    """Read a start-up spec (compact form or JSON, see the module docstring)."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            docs = _JSON_SPEC.validate_json(stripped if stripped[0] == "[" else f"[{stripped}]")
            kinds = [
                TaskOutcome if {"outcome", "task_type"} & d.keys() else FaultRule for d in docs
            ]
            return [kind.model_validate(doc) for kind, doc in zip(kinds, docs, strict=True)]
        except ValidationError as err:
            msg = f"fault spec (JSON): {describe(err)}"
            raise ValueError(msg) from None
    entries = [entry.strip() for entry in stripped.split(";")]
    return [_parse_entry(n, entry) for n, entry in enumerate(entries, 1) if entry]


def describe(err: ValueError) -> str:
    """An error on one line; pydantic's as ``field: problem; ...``."""
    if not isinstance(err, ValidationError):
        return str(err)
    parts = (f"{'.'.join(map(str, e['loc'])) or 'rule'}: {e['msg']}" for e in err.errors())
    return "; ".join(parts)


def _parse_entry(n: int, entry: str) -> FaultRule | TaskOutcome:
    try:
        target, _, action = (part.strip() for part in entry.partition("="))
        if not target or not action:
            msg = "expected TARGET=ACTION, e.g. images:*:GET:*=503"
            raise ValueError(msg)
        head, *options = action.split(",")
        if bad := [option for option in options if "=" not in option]:
            msg = f"option {bad[0]!r} is not KEY=VALUE"
            raise ValueError(msg)
        fields = {k.strip(): v.strip() for k, _, v in (o.partition("=") for o in options)}
        if target != "task" and not target.startswith("task:"):
            return _http_entry(target, head, fields)
        outcome, _, code = head.partition(":")
        values = {"task_type": target.partition(":")[2] or "*", "outcome": outcome}
        return TaskOutcome.model_validate(values | ({"code": code} if code else {}) | fields)
    except ValueError as err:
        msg = f"fault spec entry {n} ({entry!r}): {describe(err)}"
        raise ValueError(msg) from None


def _http_entry(target: str, head: str, fields: dict[str, str]) -> FaultRule:
    service, method, path = _split_target(target)
    action, at, rate = head.partition("@")
    fields |= {"rate": rate} if at else {}
    kind, _, arg = action.partition(":")
    values = {"service": service, "method": method, "path": path}
    if kind == "reset" and not arg:
        values["action"] = "reset"
    elif kind == "latency" and arg:
        values |= {"action": "latency", "delay": arg}
    elif kind.isdigit() and not arg:
        values |= {"action": "status", "status": kind}
    else:
        msg = f"unknown action {action!r}; expected a status like 503, reset or latency:SECONDS"
        raise ValueError(msg)
    return FaultRule.model_validate(values | fields)


def _split_target(target: str) -> tuple[str, str, str]:
    """``SERVICE[:METHOD[:PATH]]``, where SERVICE has two parts unless identity or ``*``."""
    parts = target.split(":")
    width = 1 if parts[0] in ("identity", "*") else 2
    if len(parts) < width or not all(parts[:width]):
        msg = f"service in {target!r} needs a region, e.g. {parts[0]}:DFW or {parts[0]}:*"
        raise ValueError(msg)
    rest = parts[width:]
    method = rest[0] if rest and rest[0] else "*"
    return ":".join(parts[:width]), method, ":".join(rest[1:]) or "*"


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
