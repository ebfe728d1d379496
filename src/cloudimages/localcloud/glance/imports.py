"""Interoperable image import: ``POST /v2/images/{id}/import`` and the work behind it.

``glance-direct`` takes the staged data, ``web-download`` fetches an http(s) URL,
``copy-image`` (admin only) copies to more stores. The request answers 202 with the
image ``importing``; a background thread finishes the work and records an
``api_image_import`` task (``GET /v2/images/{id}/tasks``). Failures end as Glance 33's
do (measured): a failed web-download puts the image back to ``queued``; a failed
glance-direct leaves it ``importing`` with its staged data until the image is deleted.
Both set ``os_glance_failed_import``; the client must clean up.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..accounts import Account
from ..images.api import ImagesApi
from ..images.errors import BadRequest, Conflict, Forbidden, ImagesError
from ..images.store import ImageRecord
from .context import GlanceRegion
from .ingest import Ingest, activate

log = logging.getLogger(__name__)
FAILED = "Task failed due to Internal Error"
TASK_TTL = timedelta(hours=48)
CHUNK = 64 * 1024


def task_time(moment: datetime) -> str:
    """Glance's task timestamps: microseconds, no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


class Importer:
    """The import endpoint and its worker threads for one region."""

    def __init__(self, region: GlanceRegion, *, delay: float = 0.0, workers: int = 2) -> None:
        self.region = region
        self.delay = delay
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix=f"glance-import-{region.name}")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def routes(self, api: ImagesApi) -> list[Route]:
        g = api.guarded
        return [
            Route(
                "/v2/images/{image_id}/import", g(lambda r: self.start(api, r)), methods=["POST"]
            ),
            Route("/v2/images/{image_id}/tasks", g(lambda r: self.tasks(api, r)), methods=["GET"]),
        ]

    # the request ---------------------------------------------------------------------
    async def start(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "get_image")
        record = api.visible(request.path_params["image_id"], caller)
        body = await request.body()
        if not body.strip():
            raise BadRequest("Body expected in request.")
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Malformed JSON in request body.") from None
        method = req.get("method") if isinstance(req, dict) else None
        name = method.get("name") if isinstance(method, dict) else None
        if name not in self.region.import_methods:
            raise BadRequest(f"Unknown import method name '{name}'.")
        assert isinstance(method, dict)
        self._check_status(record, name)  # Glance checks the status before the policy
        self._authorize(api, caller, record, name)
        if name == "web-download":
            _check_uri(method.get("uri"))
        record.doc.update(
            os_glance_importing_to_stores=self.region.store_ids, os_glance_failed_import=""
        )
        if name != "copy-image":
            record.doc["status"] = "importing"
        self.region.store.put_image(record)
        task = self._new_task(record, caller, req)
        self.pool.submit(self._run, task, name, method)
        return Response(status_code=202)

    def _authorize(self, api: ImagesApi, caller: Account, record: ImageRecord, name: str) -> None:
        if name == "copy-image":
            if not caller.is_admin:
                raise Forbidden("You are not authorized to complete copy_image action.")
            return
        api.dialect.authorize(caller, "modify_image")
        api.owned(record.id, caller, "import data into")

    def _check_status(self, record: ImageRecord, name: str) -> None:
        status = record.doc.get("status")
        if name == "copy-image":
            if status != "active":
                raise Conflict("Only images with status active can be targeted for copying")
            return
        if status in ("active", "importing"):
            raise Conflict(f"Image with status {status} cannot be target for import")
        staged = self.region.staging_path(record.id).exists()
        if name == "glance-direct" and (status != "uploading" or not staged):
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
        if name == "web-download" and status != "queued":
            raise Conflict(f"Image with status {status} cannot be target for import")

    def _new_task(self, record: ImageRecord, caller: Account, req: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        task = {
            "id": str(uuid.uuid4()),
            "type": "api_image_import",
            "status": "pending",
            "owner": record.owner,
            "expires_at": None,
            "created_at": task_time(now),
            "updated_at": task_time(now),
            "deleted_at": None,
            "deleted": False,
            "image_id": record.id,
            "request_id": f"req-{uuid.uuid4()}",
            "user_id": getattr(caller, "user_id", ""),
            "input": {"image_id": record.id, "import_req": req, "backend": [self.region.store_ids]},
            "result": None,
            "message": "",
        }
        self.region.store.put_task(task)
        return task

    async def tasks(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "get_image")
        record = api.visible(request.path_params["image_id"], caller)
        found = [t for t in self.region.store.tasks() if t.get("image_id") == record.id]
        return JSONResponse({"tasks": found})

    # the work --------------------------------------------------------------------------
    def _run(self, task: dict[str, Any], name: str, method: dict[str, Any]) -> None:
        self._update(task, "processing")
        if self.delay:
            time.sleep(self.delay)
        try:
            if name == "copy-image":
                self._finish(task, "success", "Copied 0 MiB")
            elif name == "glance-direct":
                self._glance_direct(task)
            else:
                self._web_download(task, str(method.get("uri")))
        except Exception:  # the task records the failure; the server must go on
            log.exception("import task %s failed unexpectedly", task["id"])
            self._finish(task, "failure", FAILED)

    def _glance_direct(self, task: dict[str, Any]) -> None:
        path = self.region.staging_path(task["image_id"])
        ok = self._ingest(task, lambda: _file_chunks(path))
        if ok:
            path.unlink(missing_ok=True)
        else:  # Glance 33 leaves the image importing, its data staged
            self.region.restore(
                task["image_id"], "importing", "importing", **_failed(self.region.store_ids)
            )

    def _web_download(self, task: dict[str, Any], uri: str) -> None:
        if not self._ingest(task, lambda: _url_chunks(uri)):
            self.region.restore(
                task["image_id"], "importing", "queued", **_failed(self.region.store_ids)
            )

    def _ingest(self, task: dict[str, Any], source: Any) -> bool:
        record = self.region.store.get_image(task["image_id"])
        if record is None:
            self._finish(task, "failure", FAILED)
            return False
        ingest = Ingest(self.region.blobs, self.region.inspector, self.region.quota, record)
        try:
            for chunk in source():
                ingest.write(chunk)
            done = ingest.finish()
        except (ImagesError, httpx.HTTPError, OSError) as error:
            ingest.abort()
            log.info("import of image %s failed: %s", record.id, error)
            self._finish(task, "failure", FAILED)
            return False
        current = self.region.store.get_image(record.id)
        if current is None or current.doc.get("status") != "importing":
            self.region.blobs.delete(done.blob)
            self._finish(task, "failure", FAILED)
            return False
        current.doc = activate(current, done, self.region.store_ids)
        current.doc.update(os_glance_importing_to_stores="", os_glance_failed_import="")
        current.blob = done.blob
        self.region.store.put_image(current)
        self._finish(task, "success", f"Copied {done.size // 1024**2} MiB", image=record.id)
        return True

    def _update(self, task: dict[str, Any], status: str) -> None:
        task.update(status=status, updated_at=task_time(datetime.now(UTC)))
        self.region.store.put_task(task)

    def _finish(self, task: dict[str, Any], status: str, message: str, image: str = "") -> None:
        now = datetime.now(UTC)
        task.update(message=message, expires_at=task_time(now + TASK_TTL))
        if image:
            task["result"] = {"image_id": image}
        self._update(task, status)


def _failed(stores: str) -> dict[str, object]:
    return {"os_glance_importing_to_stores": "", "os_glance_failed_import": stores}


def _check_uri(uri: Any) -> None:
    """Glance's import filter: http(s) with a host, else 400."""
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"URI for web-download does not pass filtering: {uri}")


def _file_chunks(path: Any) -> Any:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _url_chunks(uri: str) -> Any:
    with httpx.stream("GET", uri, timeout=30.0, follow_redirects=True) as response:
        response.raise_for_status()
        yield from response.iter_bytes(CHUNK)
