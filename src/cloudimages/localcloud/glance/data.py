"""Upstream Glance's image records and data: create, upload, download, stage.

``POST /v2/images`` makes a ``queued`` record. ``PUT /file`` moves it through
``saving`` to ``active``, hashing and inspecting in the same pass; any failure (quota,
format, a client that goes away) puts it back to ``queued`` with nothing stored, as
Glance restores it. ``PUT /stage`` keeps the data aside (``uploading``) for a
``glance-direct`` import (imports.py). ``GET /file`` streams, with one Range at most.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..images.api import ImagesApi, json_body
from ..images.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    ImagesError,
    OverLimit,
    UnsupportedMediaType,
)
from ..images.patch import MAX_PROPERTIES, MAX_TAGS
from ..images.store import ImageRecord, now_iso
from ..objects.limits import CLIENT_TIMEOUT
from .context import GlanceRegion
from .dialect import BASE_ATTRIBUTES, GLANCE_PREFIX, READ_ONLY, RESERVED
from .ingest import Ingest, activate

_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
OCTET = "application/octet-stream"


class RequestTimeout(ImagesError):
    status = 408


class ImageData:
    """The data routes of one upstream region."""

    def __init__(self, region: GlanceRegion) -> None:
        self.region = region

    def routes(self, api: ImagesApi) -> list[Route]:
        g = api.guarded
        return [
            Route("/v2/images", g(lambda r: self.create(api, r)), methods=["POST"]),
            Route("/v2/images/{image_id}/file", g(lambda r: self.upload(api, r)), methods=["PUT"]),
            Route(
                "/v2/images/{image_id}/file", g(lambda r: self.download(api, r)), methods=["GET"]
            ),
            Route("/v2/images/{image_id}/stage", g(lambda r: self.stage(api, r)), methods=["PUT"]),
        ]

    # create --------------------------------------------------------------------------
    async def create(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "add_image")
        if not (await request.body()).strip():
            raise BadRequest("Body expected in request.")
        body = await json_body(request, lenient=True)
        if not isinstance(body, dict):
            raise BadRequest("Body must be a JSON object.")
        doc = self._new_doc(body, caller.tenant_id, caller.is_admin)
        api.dialect.guard_visibility(doc["visibility"], {}, caller)
        self.region.dialect.validate_image(doc)
        api.store.put_image(ImageRecord(doc, None))
        headers = {"Location": f"{self.region.url}/v2/images/{doc['id']}", **self.region.headers()}
        return JSONResponse(api.dialect.view(ImageRecord(doc, None)), 201, headers=headers)

    def _new_doc(self, body: dict[str, Any], project: str, admin: bool) -> dict[str, Any]:
        for key in body:
            if key in READ_ONLY - {"id"}:
                raise Forbidden(f"Attribute '{key}' is read-only.")
            if key in RESERVED - {"owner"} or key.startswith(GLANCE_PREFIX):
                raise Forbidden(f"Attribute '{key}' is reserved.")
        owner = body.get("owner", project)
        if owner != project and not admin:
            raise Forbidden(f"You are not permitted to create images owned by '{owner}'")
        custom = [k for k in body if k not in BASE_ATTRIBUTES | READ_ONLY | RESERVED]
        tags = body.get("tags", [])
        for what, count, limit in (
            ("properties", len(custom), MAX_PROPERTIES),
            ("tags", _count(tags), MAX_TAGS),
        ):
            if count > limit:
                raise OverLimit(f"Attempted: {count}, Maximum: {limit} image {what}.")
        image_id = str(body.get("id") or uuid.uuid4())
        if not _UUID.match(image_id):
            raise BadRequest(f"Invalid image id {image_id!r}: it must be a UUID.")
        if self.region.store.get_image(image_id) is not None:
            raise Conflict(f"Image ID {image_id} already exists!")
        return queued_doc(body, owner, image_id)

    # upload --------------------------------------------------------------------------
    async def upload(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "upload_image")
        record = api.owned(request.path_params["image_id"], caller, "upload data to")
        _require_octet_stream(request)
        if not record.doc.get("disk_format") or not record.doc.get("container_format"):
            raise BadRequest(
                "Properties disk_format, container_format must be set prior to saving data."
            )
        self.region.transition(record, "queued", "saving")
        ingest = Ingest(self.region.blobs, self.region.inspector, self.region.quota, record)
        try:
            self.region.quota.check(record.owner, record.id, _declared_length(request))
            await pump(request, ingest.write)
            done = ingest.finish()
        except BaseException:
            ingest.abort()
            self.region.restore(record.id, "saving", "queued")
            raise
        current = self.region.store.get_image(record.id)
        if current is None:  # deleted while uploading: Glance answers 410 and cleans up
            self.region.blobs.delete(done.blob)
            raise Gone(f"Image {record.id} could not be found after upload.")
        current.doc = activate(current, done, self.region.store_ids)
        current.blob = done.blob
        self.region.store.put_image(current)
        return Response(status_code=204)

    # download ------------------------------------------------------------------------
    async def download(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "download_image")
        record = api.visible(request.path_params["image_id"], caller)
        if record.blob is None or record.doc.get("status") != "active":
            return Response(status_code=204)
        size = int(record.doc.get("size") or 0)
        start, stop = _byte_range(request, size)
        headers = {"Content-MD5": str(record.doc.get("checksum") or "")}
        status = 200
        if (start, stop) != (0, size):
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
            status = 206
        headers["Content-Length"] = str(stop - start)
        body = self.region.blobs.iter_range(record.blob, start, stop)
        return StreamingResponse(body, status_code=status, headers=headers, media_type=OCTET)

    # stage ---------------------------------------------------------------------------
    async def stage(self, api: ImagesApi, request: Request) -> Response:
        caller = api.authorized(request, "modify_image")
        record = api.owned(request.path_params["image_id"], caller, "stage data for")
        _require_octet_stream(request)
        self.region.transition(record, "queued", "uploading")
        path = self.region.staging_path(record.id)
        tmp = path.with_suffix(".part")
        try:
            size = await _write_file(request, tmp)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            self.region.restore(record.id, "uploading", "queued")
            raise
        current = self.region.store.get_image(record.id)
        if current is None:
            path.unlink(missing_ok=True)
            raise Gone(f"Image {record.id} could not be found after staging.")
        current.doc.update(size=size, updated_at=now_iso())
        self.region.store.put_image(current)
        return Response(status_code=204)


def queued_doc(body: dict[str, Any], owner: str | None, image_id: str) -> dict[str, Any]:
    """A new image as Glance 33 stores it: custom properties, then every base field."""
    now = now_iso()
    base = ("id", "owner", "tags", "name", "disk_format", "container_format", "visibility")
    doc: dict[str, Any] = {k: v for k, v in body.items() if k not in base + _DEFAULTS_KEYS}
    doc.update(
        name=body.get("name"),
        disk_format=body.get("disk_format"),
        container_format=body.get("container_format"),
        visibility=body.get("visibility", "shared"),
        size=None,
        virtual_size=None,
        status="queued",
        checksum=None,
    )
    doc.update({k: body.get(k, default) for k, default in _DEFAULTS.items()})
    doc.update(owner=owner, os_hidden=body.get("os_hidden", False), os_hash_algo=None)
    doc.update(os_hash_value=None, id=image_id, created_at=now, updated_at=now)
    tags = body.get("tags", [])
    doc["tags"] = list(dict.fromkeys(map(str, tags))) if isinstance(tags, list) else tags
    return doc


_DEFAULTS = {"protected": False, "min_ram": 0, "min_disk": 0}
_DEFAULTS_KEYS = ("protected", "min_ram", "min_disk", "os_hidden")


def _count(tags: Any) -> int:
    return len({str(t) for t in tags}) if isinstance(tags, list) else 0


class Gone(ImagesError):
    status = 410


def _require_octet_stream(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != OCTET:
        msg = f"The request media type {media} is not supported by this server."
        raise UnsupportedMediaType(f"{msg} Invalid content type {media}")


def _declared_length(request: Request) -> int:
    try:
        return max(0, int(request.headers.get("content-length", "0")))
    except ValueError:
        raise BadRequest("Invalid Content-Length header value") from None


async def chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk; a stalled client gets 408, a vanished one 400."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), CLIENT_TIMEOUT)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout("The client stopped sending the image data.") from None
        except ClientDisconnect:
            raise BadRequest("The client disconnected before the image data ended.") from None
        yield chunk


async def pump(request: Request, sink: Callable[[bytes], object]) -> int:
    size = 0
    async for chunk in chunks(request):
        sink(chunk)
        size += len(chunk)
    return size


async def _write_file(request: Request, path: Path) -> int:
    with path.open("wb") as out:
        return await pump(request, out.write)


def _byte_range(request: Request, size: int) -> tuple[int, int]:
    """[start, stop) of the one range asked for (Range or Content-Range), else all."""
    raw = request.headers.get("range")
    if raw is None and "content-range" in request.headers:
        raw = "bytes=" + request.headers["content-range"].removeprefix("bytes ").split("/")[0]
    if raw is None:
        return 0, size
    if "," in raw:
        msg = (
            "Requests with multiple ranges are not supported in Glance. You may make multiple"
            " single-range requests instead."
        )
        raise BadRequest(msg)
    match = _RANGE.match(raw.strip())
    if match is None or match.groups() == ("", ""):
        raise BadRequest(f"Invalid Range header: {raw}")
    first, last = match.groups()
    if first == "":
        return max(0, size - int(last)), size
    start = int(first)
    stop = min(size, int(last) + 1) if last else size
    if start >= size or stop <= start:
        raise RangeNotSatisfiable(
            "Invalid start position in Range header. Start position MUST be in the inclusive"
            f" range [0, {max(0, size - 1)}]."
        )
    return start, stop


class RangeNotSatisfiable(ImagesError):
    status = 416
