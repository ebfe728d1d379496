"""The start-up fault spec (``--faults``, ``CLOUDIMAGES_LOCALCLOUD_FAULTS``), read strictly.

Entries are split by ``;``; every part of an entry must be understood, or the
whole spec is refused with a message that names the entry, the bad part and
the accepted form (a typo must not become a rule that never fires, nor
``failure:396@0.15`` a failure with code ``396@0.15`` at rate 1)::

    http    = SERVICE [":" METHOD [":" PATH]] "=" action ["@" RATE] *("," HTTPKEY "=" VALUE)
    action  = STATUS | "reset" | "truncate" | "latency:" SECONDS
    HTTPKEY = "retry_after" | "delay" | "times" | "rate"
    task    = "task" [":" TYPE] "=" outcome ["@" RATE] *("," TASKKEY "=" VALUE)
    outcome = "failure:" CODE | "stuck"
    TASKKEY = "times" | "rate" | "message"

SERVICE is ``identity``, ``*`` (every service) or two parts (``images:DFW``,
``files:*``); METHOD (an HTTP method, or a glob over them) and PATH are globs,
``*`` if left out; PATH is the rest of the target (it may hold ``:``), and
``re:REGEX`` must match the whole path. TYPE is ``import`` or ``export``
(every type if left out); CODE is three digits; RATE is 0 to 1; ``times`` is
1 or more; a key may be given once, and ``rate`` either after ``@`` or as a
key::

    images:*:GET:/v2/images*=503@0.5,retry_after=1;files:DFW:PUT:*=reset@0.1;
    task:import=failure:396@0.15,times=1

A spec starting with ``[`` or ``{`` is JSON: rule objects, where one with
``outcome`` or ``task_type`` is a ``TaskOutcome``; ``id`` and ``fired`` are
the injector's and may not be given.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from .models import FaultRule, TaskOutcome

HTTP_FORM = (
    "SERVICE[:METHOD[:PATH]]=STATUS|reset|truncate|latency:SECONDS[@RATE]"
    "[,retry_after=S][,delay=S][,times=N][,rate=R]"
)
TASK_FORM = "task[:import|export]=failure:CODE|stuck[@RATE][,times=N][,rate=R][,message=TEXT]"
_HTTP_KEYS = ("retry_after", "delay", "times", "rate")
_TASK_KEYS = ("times", "rate", "message")
_INJECTORS_OWN = frozenset({"id", "fired"})
_JSON_SPEC = TypeAdapter(list[dict[str, Any]])


class SpecError(ValueError):
    """One part of a spec entry is not understood; ``form`` is the accepted one."""

    def __init__(self, problem: str, form: str) -> None:
        super().__init__(problem)
        self.form = form


def parse_spec(text: str) -> list[FaultRule | TaskOutcome]:
    """Read a start-up spec (compact form or JSON); ``ValueError`` says what is wrong."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        return _parse_json(stripped)
    entries = [entry.strip() for entry in stripped.split(";")]
    return [_parse_entry(n, entry) for n, entry in enumerate(entries, 1) if entry]


def describe(err: ValueError) -> str:
    """An error on one line; pydantic's as ``field: problem; ...``."""
    if not isinstance(err, ValidationError):
        return str(err)
    parts = (f"{'.'.join(map(str, e['loc'])) or 'rule'}: {_reason(e)}" for e in err.errors())
    return "; ".join(parts)


def _reason(error: Any) -> str:
    """pydantic's words, with our own validators' messages unwrapped."""
    ctx = error.get("ctx") or {}
    if isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    return str(error["msg"])


def _parse_json(stripped: str) -> list[FaultRule | TaskOutcome]:
    try:
        docs = _JSON_SPEC.validate_json(stripped if stripped[0] == "[" else f"[{stripped}]")
        if own := sorted(_INJECTORS_OWN.intersection(*[set().union(*docs)])):
            msg = f"{', '.join(own)} are set by the injector and may not be given"
            raise ValueError(msg)
        kinds = [TaskOutcome if {"outcome", "task_type"} & d.keys() else FaultRule for d in docs]
        return [kind.model_validate(doc) for kind, doc in zip(kinds, docs, strict=True)]
    except ValueError as err:
        msg = f"fault spec (JSON): {describe(err)}"
        raise ValueError(msg) from None


def _parse_entry(n: int, entry: str) -> FaultRule | TaskOutcome:
    target, _, action = (part.strip() for part in entry.partition("="))
    is_task = target == "task" or target.startswith("task:")
    form = TASK_FORM if is_task else HTTP_FORM
    try:
        if not target or not action:
            raise SpecError("expected TARGET=ACTION, e.g. images:*:GET:*=503", form)
        head, *options = (part.strip() for part in action.split(","))
        head, at, rate = head.partition("@")
        if at and not rate:
            raise SpecError(f"'@' after {head!r} needs a rate from 0 to 1, e.g. @0.25", form)
        fields = _options(options, _TASK_KEYS if is_task else _HTTP_KEYS, form)
        if at:
            if "rate" in fields:
                raise SpecError("the rate is given twice (after '@' and as rate=)", form)
            fields["rate"] = rate
        if is_task:
            return _task_entry(target, head, fields)
        return _http_entry(target, head, fields)
    except SpecError as err:
        msg = f"fault spec entry {n} ({entry!r}): {err}. Accepted form: {err.form}"
        raise ValueError(msg) from None
    except ValueError as err:
        msg = f"fault spec entry {n} ({entry!r}): {describe(err)}. Accepted form: {form}"
        raise ValueError(msg) from None


def _options(options: list[str], allowed: tuple[str, ...], form: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs; each key known, given once, with a value."""
    fields: dict[str, str] = {}
    for option in options:
        key, eq, value = (part.strip() for part in option.partition("="))
        if not eq or not key:
            raise SpecError(f"option {option!r} is not KEY=VALUE", form)
        if key not in allowed:
            raise SpecError(f"unknown option {key!r}; expected {', '.join(allowed)}", form)
        if key in fields:
            raise SpecError(f"option {key!r} is given twice", form)
        fields[key] = value
    return fields


def _task_entry(target: str, head: str, fields: dict[str, str]) -> TaskOutcome:
    task_type = target.partition(":")[2].strip() if ":" in target else "*"
    if not task_type:
        raise SpecError("'task:' needs a type, import or export (or leave ':' out)", TASK_FORM)
    outcome, colon, code = head.partition(":")
    if outcome not in ("failure", "stuck") or (outcome == "stuck" and colon):
        raise SpecError(f"unknown task outcome {head!r}; expected failure:CODE or stuck", TASK_FORM)
    values = {"task_type": task_type, "outcome": outcome}
    return TaskOutcome.model_validate(values | ({"code": code} if colon else {}) | fields)


def _http_entry(target: str, head: str, fields: dict[str, str]) -> FaultRule:
    service, method, path = _split_target(target)
    kind, colon, arg = head.partition(":")
    values = {"service": service, "method": method, "path": path}
    if kind in ("reset", "truncate") and not colon:
        values["action"] = kind
    elif kind == "latency" and arg:
        values |= {"action": "latency", "delay": arg}
    elif kind.isdigit() and not colon:
        values |= {"action": "status", "status": kind}
    else:
        msg = (
            f"unknown action {head!r}; expected a status like 503, reset, truncate or"
            " latency:SECONDS"
        )
        raise SpecError(msg, HTTP_FORM)
    return FaultRule.model_validate(values | fields)


def _split_target(target: str) -> tuple[str, str, str]:
    """``SERVICE[:METHOD[:PATH]]``, where SERVICE has two parts unless identity or ``*``."""
    parts = target.split(":")
    width = 1 if parts[0] in ("identity", "*") else 2
    if len(parts) < width or not all(parts[:width]):
        msg = f"service in {target!r} needs a region, e.g. {parts[0]}:DFW or {parts[0]}:*"
        raise SpecError(msg, HTTP_FORM)
    rest = parts[width:]
    method = rest[0] if rest and rest[0] else "*"
    return ":".join(parts[:width]), method, ":".join(rest[1:]) or "*"
