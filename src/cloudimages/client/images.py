"""Cloud Images v2 for one region: images, tags, members, tasks and schemas.

Every call of the Rackspace API is one method. Links in answers are
host-relative (``/v2/images?marker=...``) and are resolved against the
scheme and host of the catalog URL, never appended to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ..errors import NotFound
from . import imagetasks
from ._http import bad_answer, call_with_retries, json_of, read
from ._session import TokenSession
from .models import Image, ImageList, Member, MemberList, MemberStatus, Task, TaskList

__all__ = ["PATCH_MEDIA_TYPE", "ImagesClient", "build_patch"]

PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
#: Attributes every image has even when the answer omits them (null): always ``replace``d.
BASE_ATTRIBUTES = frozenset(
    {"name", "visibility", "protected", "container_format", "disk_format", "min_disk", "min_ram"}
)
SCHEMA_NAMES = ("image", "images", "member", "members", "task", "tasks")

P = TypeVar("P", bound=BaseModel)
X = TypeVar("X")


def _pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def build_patch(
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    remove: Iterable[str] = (),
    tags: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The Glance JSON patch that turns ``current`` (the image as served) into the wanted one.

    Base attributes are ``replace``d; a custom property is ``add``ed when absent
    and ``replace``d when present (Juno answers 409 to the other choice).
    Values already as wanted and removals of absent properties are left out,
    so an empty list means there is nothing to do. ``jsonpatch.make_patch``
    is not used: it emits element-level list operations (``/tags/0``) and
    ``move``, which Glance's one-level pointers reject.
    """
    ops: list[dict[str, Any]] = []
    for name, value in changes.items():
        if name in current and current[name] == value:
            continue
        op = "replace" if name in BASE_ATTRIBUTES or name in current else "add"
        ops.append({"op": op, "path": _pointer(name), "value": value})
    ops.extend(
        {"op": "remove", "path": _pointer(name)}
        for name in dict.fromkeys(remove)
        if name in current and name not in changes
    )
    if tags is not None:
        wanted = list(dict.fromkeys(tags))
        if wanted != current.get("tags", []):
            ops.append({"op": "replace", "path": "/tags", "value": wanted})
    return ops


class ImagesClient:
    """The Cloud Images API of one region, for one account.

    Example:
        >>> images = ImagesClient(session, region="IAD")  # doctest: +SKIP
        >>> [i.name for i in images.list_images(visibility="private")]  # doctest: +SKIP
    """

    def __init__(
        self, session: TokenSession, *, region: str | None = None, endpoint: str | None = None
    ) -> None:
        self.session = session
        self._region = region
        self._endpoint = endpoint

    @cached_property
    def base_url(self) -> str:
        """The catalog URL, e.g. ``https://iad.images.api.rackspacecloud.com/v2``."""
        url = self._endpoint or self.session.endpoint("image", self._region)
        return url.rstrip("/")

    @property
    def region(self) -> str:
        return (self._region or self.session.region).upper()

    def url(self, path: str) -> str:
        """``{catalog URL}{path}`` for a path like ``/images/{id}``."""
        return f"{self.base_url}{path}"

    def resolve(self, link: str) -> str:
        """A host-relative link (``/v2/...``) against scheme and host of the endpoint."""
        return str(httpx.URL(self.base_url).join(link))

    def _call(self, method: str, path: str, model: type[P], **kwargs: Any) -> P:
        return read(self.session.request(method, self.url(path), **kwargs), model)

    def _pages(self, path: str, params: list[tuple[str, str | int]], model: type[P]) -> Iterator[P]:
        url: str | None = self.url(path)
        query: list[tuple[str, str | int]] | None = params
        seen: set[str] = set()
        while url is not None:
            page = read(self.session.request("GET", url, params=query), model)
            yield page
            link = getattr(page, "next", None)
            url, query = (self.resolve(link), None) if link else (None, None)
            if url is not None and url in seen:
                return  # a service repeating itself must not loop us forever
            seen.add(url or "")

    @staticmethod
    def _items(pages: Iterator[P], items: Callable[[P], list[X]]) -> Iterator[X]:
        for page in pages:
            found = items(page)
            if not found:
                return
            yield from found

    # images -------------------------------------------------------------------
    def list_images(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        visibility: Literal["public", "private", "shared"] | None = None,
        member_status: Literal["pending", "accepted", "rejected", "all"] | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        size_min: int | None = None,
        size_max: int | None = None,
        properties: Mapping[str, str] | None = None,
        sort_key: str | None = None,
        sort_dir: Literal["asc", "desc"] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Image]:
        """Every visible image matching the filters, following ``next`` links lazily.

        ``tags`` must all be present; ``properties`` are exact-match filters on
        custom properties (``{"com.example.role": "db"}``); ``page_size`` is the
        ``limit`` of each page (the service defaults to 25).
        """
        simple = {
            "name": name,
            "status": status,
            "visibility": visibility,
            "member_status": member_status,
            "owner": owner,
            "size_min": size_min,
            "size_max": size_max,
            "sort_key": sort_key,
            "sort_dir": sort_dir,
            "limit": page_size,
        }
        params: list[tuple[str, str | int]] = [(k, v) for k, v in simple.items() if v is not None]
        params += [("tag", tag) for tag in tags]
        params += list((properties or {}).items())
        return self._items(self._pages("/images", params, ImageList), lambda p: p.images)

    def find_active(
        self, *, properties: Mapping[str, str], name: str | None = None, owner: str | None = None
    ) -> Iterator[Image]:
        """Active images with exactly these custom properties (checked here too: a service
        may ignore a property filter it does not know)."""
        for image in self.list_images(name=name, owner=owner, properties=properties):
            found = image.properties
            if image.status == "active" and all(found.get(k) == v for k, v in properties.items()):
                yield image

    def get_image(self, image_id: str) -> Image:
        """One image by id (404 as ``NotFound`` if absent or not visible)."""
        return self._call("GET", f"/images/{quote(image_id, safe='')}", Image)

    def update_image(
        self,
        image_id: str,
        changes: Mapping[str, Any] | None = None,
        *,
        remove: Iterable[str] = (),
        tags: Iterable[str] | None = None,
    ) -> Image:
        """Set properties, remove properties and/or replace the tags of an image.

        Reads the image, sends only what differs as one all-or-nothing JSON patch,
        and returns the updated image. After a transient failure it reads the
        image again and patches what is still different, so a patch that took
        effect is never replayed.
        """
        path = f"/images/{quote(image_id, safe='')}"
        wanted_tags = None if tags is None else list(tags)
        removals = list(remove)

        def attempt() -> Image:
            response = self.session.request("GET", self.url(path))
            current = json_of(response)
            if not isinstance(current, dict):
                return read(response, Image)  # raises: not an image
            ops = build_patch(current, changes or {}, remove=removals, tags=wanted_tags)
            if not ops:
                return read(response, Image, current)
            headers = {"Content-Type": PATCH_MEDIA_TYPE}
            body = json.dumps(ops).encode()
            return self._call("PATCH", path, Image, content=body, headers=headers, retry=False)

        what = f"update image {image_id}"
        return call_with_retries(attempt, policy=self.session.retry, what=what)

    def delete_image(self, image_id: str) -> None:
        """Delete an image this account owns (``Forbidden`` if it is protected)."""
        self.session.request("DELETE", self.url(f"/images/{quote(image_id, safe='')}"))

    # tags ---------------------------------------------------------------------
    def add_tag(self, image_id: str, tag: str) -> None:
        """Add a tag; adding one that is there already changes nothing."""
        path = f"/images/{quote(image_id, safe='')}/tags/{quote(tag, safe='')}"
        self.session.request("PUT", self.url(path))

    def remove_tag(self, image_id: str, tag: str) -> None:
        """Remove a tag (``NotFound`` if the image does not have it)."""
        path = f"/images/{quote(image_id, safe='')}/tags/{quote(tag, safe='')}"
        self.session.request("DELETE", self.url(path))

    # members ------------------------------------------------------------------
    def _member_path(self, image_id: str, member_id: str | None = None) -> str:
        path = f"/images/{quote(image_id, safe='')}/members"
        return path if member_id is None else f"{path}/{quote(member_id, safe='')}"

    def add_member(self, image_id: str, member_id: str) -> Member:
        """Share an image with another account (tenant id); the member starts ``pending``.

        Not blindly retried: after a failure that may have reached the service,
        the member is looked up first, so a share is never attempted twice.
        """
        url = self.url(self._member_path(image_id))

        def attempt() -> Member:
            answer = self.session.request("POST", url, json={"member": member_id}, retry=False)
            return read(answer, Member)

        def recover() -> Member | None:
            try:
                return self.get_member(image_id, member_id)
            except NotFound:
                return None

        what = f"share image {image_id} with {member_id}"
        return call_with_retries(attempt, policy=self.session.retry, what=what, recover=recover)

    def list_members(self, image_id: str) -> list[Member]:
        """The owner sees every member; a member sees only itself."""
        return self._call("GET", self._member_path(image_id), MemberList).members

    def get_member(self, image_id: str, member_id: str) -> Member:
        return self._call("GET", self._member_path(image_id, member_id), Member)

    def set_member_status(self, image_id: str, member_id: str, status: MemberStatus) -> Member:
        """Accept, reject or re-pend an offer; only the member itself may do this."""
        path = self._member_path(image_id, member_id)
        return self._call("PUT", path, Member, json={"status": status})

    def remove_member(self, image_id: str, member_id: str) -> None:
        """Stop sharing an image with an account; its access ends at once."""
        self.session.request("DELETE", self.url(self._member_path(image_id, member_id)))

    # tasks --------------------------------------------------------------------
    def create_import_task(
        self,
        container: str,
        obj: str,
        *,
        name: str,
        import_from_format: str | None = "vhd",
    ) -> Task:
        """Start importing the VHD ``container/obj`` of this region's Cloud Files as an image.

        ``import_from_format`` is sent as ``"vhd"`` like pyrax and Rackspace's
        region-transfer how-to do (the service echoes it); pass None to omit it.
        """
        task_input: dict[str, Any] = {
            "import_from": f"{container}/{obj}",
            "image_properties": {"name": name},
        }
        if import_from_format is not None:
            task_input["import_from_format"] = import_from_format
        return imagetasks.create_task(self, {"type": "import", "input": task_input})

    def create_export_task(self, image_id: str, container: str) -> Task:
        """Start exporting an owned image as a VHD into a Cloud Files container."""
        task_input = {"image_uuid": image_id, "receiving_swift_container": container}
        return imagetasks.create_task(self, {"type": "export", "input": task_input})

    def get_task(self, task_id: str) -> Task:
        return self._call("GET", f"/tasks/{quote(task_id, safe='')}", Task)

    def list_tasks(
        self,
        *,
        sort_key: str | None = None,
        sort_dir: Literal["asc", "desc"] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Task]:
        """This account's tasks (without input, result or message; ``get_task`` has them)."""
        simple = {"sort_key": sort_key, "sort_dir": sort_dir, "limit": page_size}
        params: list[tuple[str, str | int]] = [(k, v) for k, v in simple.items() if v is not None]
        return self._items(self._pages("/tasks", params, TaskList), lambda p: p.tasks)

    def wait_for_task(
        self,
        task_id: str,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 30.0,
        backoff: float = 1.0,
        max_interval: float = 300.0,
    ) -> Task:
        """Poll until the task succeeds; ``TaskFailed`` or ``TaskTimedOut`` otherwise."""
        return imagetasks.wait_for_task(
            self,
            task_id,
            timeout=timeout,
            poll_interval=poll_interval,
            backoff=backoff,
            max_interval=max_interval,
        )

    # schemas ------------------------------------------------------------------
    def get_schema(self, name: str) -> dict[str, Any]:
        """A JSON Schema the service publishes: image, images, member(s), task(s)."""
        if name not in SCHEMA_NAMES:
            msg = f"no schema {name!r}; use one of {', '.join(SCHEMA_NAMES)}"
            raise ValueError(msg)
        response = self.session.request("GET", self.url(f"/schemas/{name}"))
        doc = json_of(response)
        if not isinstance(doc, dict):
            raise bad_answer(response, "is not a JSON object")
        return doc
