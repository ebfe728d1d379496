"""Glance's legacy tasks API (``/v2/tasks``): admin only, ``import`` from a URL.

Deprecated upstream but still served by Glance 33, which allows it to the admin role
only (``tasks_api_access``). An import task downloads ``input.import_from`` into a new
image built from ``input.image_properties``; that image has no owner (Glance 33 does not
set one), so every project can read it by id.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..accounts import Account
from ..images.api import ImagesApi
from ..images.errors import BadRequest, Forbidden, MethodNotAllowed, NotFound
from ..images.listing import parse_limit
from ..images.store import ImageRecord, now_iso
from .context import GlanceRegion
from .data import queued_doc
from .imports import _check_uri, _url_chunks
from .ingest import Ingest, activate

SPARSE = ("id", "type", "status", "owner", "expires_at", "created_at", "updated_at")
TASK_TTL = timedelta(hours=48)


class LegacyTasks:
    """``/v2/tasks`` of one upstream region."""

    def __init__(self, region: GlanceRegion, pool: ThreadPoolExecutor) -> None:
        self.region = region
        self.pool = pool

    def routes(self, api: ImagesApi) -> list[Route]:
        collection = api.guarded(lambda request: self.collection(api, request))
        item = api.guarded(lambda request: self.item(api, request))
        return [
            Route("/v2/tasks", collection, methods=["GET", "POST"]),
            Route("/v2/tasks/{task_id}", item, methods=["GET", "DELETE", "PUT", "PATCH"]),
        ]

    def _admin(self, api: ImagesApi, request: Request) -> Account:
        caller = api.caller(request)
        if not caller.is_admin:
            raise Forbidden("You are not authorized to complete tasks_api_access action.")
        return caller

    async def collection(self, api: ImagesApi, request: Request) -> Response:
        caller = self._admin(api, request)
        if request.method == "POST":
            return await self.create(request, caller)
        limit = parse_limit(request.query_params.get("limit"))
        tasks = [t for t in self.region.store.tasks() if t.get("type") == "import"]
        tasks.sort(key=lambda t: str(t.get("created_at")), reverse=True)
        entries = [{k: t.get(k) for k in SPARSE} | _links(t) for t in tasks[:limit]]
        return JSONResponse({"tasks": entries, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"})

    async def item(self, api: ImagesApi, request: Request) -> Response:
        self._admin(api, request)
        if request.method != "GET":
            raise MethodNotAllowed("The method is not allowed.", headers={"Allow": "GET"})
        task = self.region.store.get_task(request.path_params["task_id"])
        if task is None or task.get("type") != "import":
            raise NotFound(f"Task with identifier {request.path_params['task_id']} not found")
        return JSONResponse(task | _links(task))

    async def create(self, request: Request, caller: Account) -> Response:
        body = _json(await request.body())
        if body.get("type") != "import":
            raise BadRequest(f"Task type {body.get('type')!r} is not supported: use import.")
        task_input = body.get("input")
        if not isinstance(task_input, dict):
            raise BadRequest("Input is required and must be an object.")
        for key in ("import_from", "import_from_format", "image_properties"):
            if key not in task_input:
                raise BadRequest(f"Invalid input: {key} is missing.")
        if not isinstance(task_input["image_properties"], dict):
            raise BadRequest("Invalid input: image_properties must be an object.")
        _check_uri(task_input["import_from"])
        now = now_iso()
        task = {
            "id": str(uuid.uuid4()),
            "type": "import",
            "status": "pending",
            "input": task_input,
            "result": None,
            "owner": caller.tenant_id,
            "message": "",
            "expires_at": None,
            "created_at": now,
            "updated_at": now,
        }
        self.region.store.put_task(task)
        self.pool.submit(self._run, task)
        location = f"{self.region.url}/v2/tasks/{task['id']}"
        return JSONResponse(task | _links(task), status_code=201, headers={"Location": location})

    def _run(self, task: dict[str, Any]) -> None:
        self._save(task, "processing")
        record = self._new_image(task["input"]["image_properties"])
        ingest = Ingest(self.region.blobs, self.region.inspector, self.region.quota, record)
        try:
            for chunk in _url_chunks(str(task["input"]["import_from"])):
                ingest.write(chunk)
            done = ingest.finish()
        except Exception as error:  # recorded on the task, as Glance records it
            ingest.abort()
            self.region.store.delete_image(record.id)
            self._save(task, "failure", message=str(error) or type(error).__name__)
            return
        record.doc = activate(record, done, self.region.store_ids)
        record.blob = done.blob
        self.region.store.put_image(record)
        self._save(task, "success", result={"image_id": record.id})

    def _new_image(self, properties: dict[str, Any]) -> ImageRecord:
        """The image a legacy import makes: no owner (Glance 33 sets none)."""
        body = {k: v for k, v in properties.items() if isinstance(k, str)}
        record = ImageRecord(queued_doc(body, None, str(uuid.uuid4())), None)
        self.region.store.put_image(record)
        return record

    def _save(self, task: dict[str, Any], status: str, **changes: Any) -> None:
        task.update(status=status, updated_at=now_iso(), **changes)
        if status in ("success", "failure"):
            expires = datetime.now(UTC) + TASK_TTL
            task["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.region.store.put_task(task)


def _links(task: dict[str, Any]) -> dict[str, str]:
    return {"self": f"/v2/tasks/{task['id']}", "schema": "/v2/schemas/task"}


def _json(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None
    if not isinstance(doc, dict):
        raise BadRequest("Request body must be a JSON object.")
    return doc
