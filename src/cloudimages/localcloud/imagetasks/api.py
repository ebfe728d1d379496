"""``/v2/tasks`` over HTTP: create, show and list import/export tasks.

Tasks are private to their owner: another tenant's task, or an expired one,
is a 404 (never a 403). Problems with a task's *input* are not HTTP errors:
the task is created (201) and then fails, as on Rackspace. Keys starting with
``_`` are the engine's bookkeeping and never leave the service.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..images.api import Caller, guarded, json_body
from ..images.errors import BadRequest, MethodNotAllowed, NotFound
from ..images.listing import parse_limit
from ..images.schemas import UUID_PATTERN, validate_task
from ..images.store import ImageStore, now_iso
from .engine import TaskEngine, is_expired

SORT_KEYS = ("created_at", "expires_at", "status", "type", "updated_at")
STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import", "export")
_UUID = re.compile(UUID_PATTERN)
SPARSE_KEYS = ("id", "type", "status", "owner", "created_at", "updated_at", "self", "schema")


def task_routes(store: ImageStore, engine: TaskEngine, caller: Caller) -> list[Route]:
    """The task endpoints of one region; ``caller`` names the authenticated account."""
    api = TasksApi(store, engine, caller)
    return [
        Route("/v2/tasks", guarded(api.collection), methods=["GET", "POST"]),
        Route("/v2/tasks/{task_id}", guarded(api.item), methods=["GET", "DELETE", "PUT", "PATCH"]),
    ]


def task_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The full task as the API shows it: bookkeeping keys removed."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def sparse_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A list entry: no input, result or message."""
    out = {k: doc[k] for k in SPARSE_KEYS if k in doc}
    if doc.get("expires_at") is not None:
        out["expires_at"] = doc["expires_at"]
    return out


class TasksApi:
    """Handlers of ``/v2/tasks`` for one region."""

    def __init__(self, store: ImageStore, engine: TaskEngine, caller: Caller) -> None:
        self.store = store
        self.engine = engine
        self.caller = caller

    async def collection(self, request: Request) -> Response:
        tenant = self.caller(request).tenant_id
        if request.method == "POST":
            return await self.create(request, tenant)
        return self.index(request, tenant)

    async def item(self, request: Request) -> Response:
        tenant = self.caller(request).tenant_id
        if request.method != "GET":
            raise MethodNotAllowed(
                f"The method {request.method} is not allowed for this resource: tasks expire"
                " on their own.",
                headers={"Allow": "GET"},
            )
        return JSONResponse(task_view(self.visible(request.path_params["task_id"], tenant)))

    async def create(self, request: Request, tenant: str) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object with 'type' and 'input'.")
        missing = [key for key in ("type", "input") if key not in body]
        if missing:
            raise BadRequest(f"Provided object does not match schema 'task': missing {missing}.")
        validate_task(body)
        task_id = str(uuid.uuid4())
        now = now_iso()
        doc = {
            "id": task_id,
            "type": body["type"],
            "status": "pending",
            "input": body["input"],
            "message": "None",
            "owner": tenant,
            "created_at": now,
            "updated_at": now,
            "self": f"/v2/tasks/{task_id}",
            "schema": "/v2/schemas/task",
        }
        self.store.put_task(doc)
        self.engine.submit(task_id)
        return JSONResponse(task_view(doc), status_code=201, headers={"Location": doc["self"]})

    def visible(self, task_id: str, tenant: str) -> dict[str, Any]:
        doc = self.store.get_task(task_id)
        if doc is None or doc.get("owner") != tenant or is_expired(doc):
            raise NotFound(f"Task with the given id {task_id} not found")
        return doc

    def index(self, request: Request, tenant: str) -> Response:
        items = request.query_params.multi_items()
        params = dict(items)
        limit = parse_limit(params.get("limit"))
        key, direction = _sort(params)
        wanted = {name: _choice(params, name, allowed) for name, allowed in _FILTERS}
        docs = [d for d in self.store.tasks(tenant) if not is_expired(d)]
        docs.sort(key=lambda d: (str(d.get(key) or ""), d["created_at"], d["id"]))
        if direction == "desc":
            docs.reverse()
        marker = params.get("marker")
        if marker is not None:
            docs = docs[_position(docs, marker) + 1 :]
        chosen = [d for d in docs if all(v is None or d.get(k) == v for k, v in wanted.items())]
        page = chosen[:limit]
        body: dict[str, Any] = {
            "tasks": [sparse_view(d) for d in page],
            "first": _link(items, None),
            "schema": "/v2/schemas/tasks",
        }
        if limit and len(page) == limit:
            body["next"] = _link(items, page[-1]["id"])
        return JSONResponse(body)


_FILTERS = (("status", STATUSES), ("type", TYPES))


def _choice(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name)
    if value is not None and value not in allowed:
        raise BadRequest(f"Invalid {name} value: {value}. It must be one of: {', '.join(allowed)}.")
    return value


def _sort(params: dict[str, str]) -> tuple[str, str]:
    key = params.get("sort_key", "created_at")
    if key not in SORT_KEYS:
        raise BadRequest(
            f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
        )
    direction = params.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}. It must be asc or desc.")
    return key, direction


def _position(docs: list[dict[str, Any]], marker: str) -> int:
    ids = [d["id"] for d in docs]
    if not _UUID.match(marker) or marker not in ids:
        raise BadRequest(f"Invalid marker. Task {marker} could not be found.")
    return ids.index(marker)


def _link(items: list[tuple[str, str]], marker: str | None) -> str:
    kept = [(k, v) for k, v in items if k != "marker"]
    if marker is not None:
        kept.append(("marker", marker))
    return "/v2/tasks" + (f"?{urlencode(kept)}" if kept else "")
