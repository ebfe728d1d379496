"""Cloud Files (Swift) objects: containers, large uploads, verified downloads and copies.

Built on ``swiftclient.client.Connection`` with a preauth URL and token taken from a
:class:`TokenSource` (the account session); ``_swift.py`` is the one place where
swiftclient's exceptions become :mod:`cloudimages.errors` types. Uploads bigger than a
segment become Static Large Objects uploaded in parallel and resumable; every upload
and download hashes the whole content (md5 and sha256) as it moves it. Memory is
bounded by the process-wide transfer budget (``client.set_transfer_budget``), not by the
content or segment size: files are read by range, streams spooled to disk.

    >>> with ObjectsClient(session, region="DFW") as files:  # doctest: +SKIP
    ...     files.ensure_container("images")
    ...     result = files.upload_file("disk.vhd", "images", "disk.vhd")
    ...     result.sha256
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from ..errors import NotFound
from ._copies import copy_stream
from ._downloads import download_to
from ._jobs import copy_job, spool_settings, stream_opener, upload_job
from ._object_models import (
    DownloadResult,
    ObjectInfo,
    UploadOptions,
    UploadResult,
    object_info,
)
from ._segments import Progress
from ._spool import Opener, Spool
from ._swift import SwiftSession, Target, TokenSource, delete_with_manifest
from ._uploads import object_headers, upload_file, upload_spooled

__all__ = [
    "DownloadResult",
    "ObjectInfo",
    "ObjectsClient",
    "TokenSource",
    "UploadOptions",
    "UploadResult",
]


class ObjectsClient:
    """Containers and objects of one account in one region's Cloud Files.

    Thread-safe: calls share a pool of connections; uploads open more for their workers.
    """

    def __init__(
        self,
        source: TokenSource,
        *,
        region: str | None = None,
        options: UploadOptions | None = None,
    ) -> None:
        self.options = options or UploadOptions()
        self.region = region
        self._session = SwiftSession(
            source,
            region=region,
            policy=self.options.retry,
            timeout=self.options.timeout,
        )

    @property
    def swift(self) -> SwiftSession:
        """The connection pool and call policy this client uses (for the client's own modules)."""
        return self._session

    @property
    def endpoint(self) -> str:
        """The object-store URL this client talks to (``…/v1/<account>``)."""
        return self._session.url

    @property
    def account(self) -> str:
        """The storage account name (``MossoCloudFS_…``), as X-Copy-From-Account wants it."""
        return unquote(urlsplit(self._session.url).path.rstrip("/").rsplit("/", 1)[-1])

    # containers ------------------------------------------------------------------
    def ensure_container(
        self, name: str, *, read_acl: str | None = None, write_acl: str | None = None
    ) -> None:
        """Create the container if it is missing (and set its ACLs when given)."""
        headers = {"X-Container-Read": read_acl, "X-Container-Write": write_acl}
        sent = {k: v for k, v in headers.items() if v is not None}
        self._session.call(
            Target("creation of", name), lambda c: c.put_container(name, headers=sent)
        )

    def delete_container(self, name: str, *, missing_ok: bool = False) -> None:
        """Delete an empty container; Conflict when it still holds objects."""
        try:
            self._session.call(Target("deletion of", name), lambda c: c.delete_container(name))
        except NotFound:
            if not missing_ok:
                raise

    def container_metadata(self, name: str) -> dict[str, str]:
        """The container's ``X-Container-Meta-*`` values, by lower-case key."""
        headers: dict[str, str] = self._session.call(
            Target("lookup of", name), lambda c: c.head_container(name)
        )
        prefix = "x-container-meta-"
        return {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}

    def set_container_metadata(self, name: str, metadata: Mapping[str, str]) -> None:
        """Set (or, with an empty value, remove) some of the container's metadata."""
        headers = {f"X-Container-Meta-{key}": value for key, value in metadata.items()}
        self._session.call(
            Target("metadata update of", name), lambda c: c.post_container(name, headers)
        )

    def list_objects(self, container: str, *, prefix: str | None = None) -> list[ObjectInfo]:
        """Every object in the container (all pages), optionally only those under ``prefix``."""
        _, listing = self._session.call(
            Target("listing of", container),
            lambda c: c.get_container(container, prefix=prefix, full_listing=True),
        )
        return [
            ObjectInfo(
                container=container,
                name=item["name"],
                size=int(item.get("bytes", 0)),
                etag=str(item.get("hash", "")),
                content_type=item.get("content_type"),
                last_modified=item.get("last_modified"),
            )
            for item in listing
            if "name" in item  # "subdir" entries only appear with a delimiter
        ]

    # objects ---------------------------------------------------------------------
    def head_object(self, container: str, name: str) -> ObjectInfo:
        """Size, ETag, metadata and large-object kind of an object."""
        headers: dict[str, str] = self._session.call(
            Target("lookup of", container, name), lambda c: c.head_object(container, name)
        )
        return object_info(container, name, headers)

    def set_object_metadata(self, container: str, name: str, metadata: Mapping[str, str]) -> None:
        """Replace the object's ``X-Object-Meta-*`` values (Swift's POST replaces them all)."""
        headers = {f"X-Object-Meta-{key}": value for key, value in metadata.items()}
        self._session.call(
            Target("metadata update of", container, name),
            lambda c: c.post_object(container, name, headers),
        )

    def delete_object(self, container: str, name: str, *, missing_ok: bool = False) -> int:
        """Delete an object; an SLO or DLO together with its segments.

        Returns how many objects were removed (manifest + segments); 0 when the object
        was already gone and ``missing_ok`` is set.
        """
        try:
            info = self._head_manifest(container, name)
            if info.large_object == "slo":
                report = self._session.call(
                    Target("deletion of", container, name),
                    lambda c: delete_with_manifest(c, container, name),
                )
                return int(report.get("Number Deleted", 0))
            self._session.call(
                Target("deletion of", container, name),
                lambda c: c.delete_object(container, name),
            )
        except NotFound:
            if missing_ok:
                return 0
            raise
        removed = 1
        if info.dlo_manifest is not None:
            removed += self._delete_dlo_segments(info.dlo_manifest)
        return removed

    def _head_manifest(self, container: str, name: str) -> ObjectInfo:
        """HEAD of the object itself, not what its manifest points at (works when broken)."""
        headers: dict[str, str] = self._session.call(
            Target("lookup of", container, name),
            lambda c: c.head_object(container, name, query_string="multipart-manifest=get"),
        )
        return object_info(container, name, headers)

    def _delete_dlo_segments(self, manifest: str) -> int:
        seg_container, _, prefix = unquote(manifest).lstrip("/").partition("/")
        removed = 0
        for segment in self.list_objects(seg_container, prefix=prefix):
            removed += self.delete_object(seg_container, segment.name, missing_ok=True)
        return removed

    def copy_object(
        self,
        src_container: str,
        src_name: str,
        dst_container: str,
        dst_name: str,
        *,
        src_account: str | None = None,
    ) -> ObjectInfo:
        """Server-side copy within this region (from another account with ``src_account``).

        A large object is copied as one concatenated object, so it must fit Swift's
        5 GiB single-object limit; use :meth:`copy_across` for bigger ones.
        """
        headers = {"X-Copy-From": f"/{quote(src_container)}/{quote(src_name)}"}
        if src_account is not None:
            headers["X-Copy-From-Account"] = src_account
        source = f"{src_account + '/' if src_account else ''}{src_container}/{src_name}"
        target = Target(
            f"server-side copy of {source!r} to",
            dst_container,
            dst_name,
            not_found=f"the source {source!r} or the container {dst_container!r} is missing "
            "(or not readable: the source container needs X-Container-Read for this account)",
        )
        self._session.call(
            target, lambda c: c.put_object(dst_container, dst_name, None, headers=headers)
        )
        return self.head_object(dst_container, dst_name)

    # transfers -------------------------------------------------------------------
    def upload_file(
        self,
        path: str | os.PathLike[str],
        container: str,
        name: str,
        *,
        segment_size: int | None = None,
        concurrency: int | None = None,
        progress: Progress | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> UploadResult:
        """Upload a file: one object when it fits a segment, else a resumable parallel SLO.

        A rerun after a failure sends only the segments that are not stored yet.
        """
        with Path(path).open("rb") as reader:
            job = upload_job(
                self.options,
                container,
                name,
                size=os.fstat(reader.fileno()).st_size,
                segment_size=segment_size,
                concurrency=concurrency,
                progress=progress,
                headers=object_headers(metadata, content_type),
            )
            return upload_file(self._session, reader.fileno(), job)

    def upload_stream(
        self,
        source: str | BinaryIO,
        container: str,
        name: str,
        *,
        size: int | None = None,
        segment_size: int | None = None,
        concurrency: int | None = None,
        progress: Progress | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> UploadResult:
        """Upload from an http(s) URL (streamed) or a binary file object, read once in order.

        The stream is spooled to disk a few segments ahead of the upload
        (``UploadOptions.spool_dir``, ``spool_segments``), so memory stays small.
        """
        return self.upload_opened(
            stream_opener(self.options, source, size),
            container,
            name,
            size=size,
            segment_size=segment_size,
            concurrency=concurrency,
            progress=progress,
            metadata=metadata,
            content_type=content_type,
        )

    def upload_opened(
        self,
        opener: Opener,
        container: str,
        name: str,
        *,
        size: int | None = None,
        segment_size: int | None = None,
        concurrency: int | None = None,
        progress: Progress | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> UploadResult:
        """Upload the stream ``opener`` opens (read once, in order, on the spool's thread).

        The stream's own check (``Opened.check``) runs on the whole content's hashes
        before the object or its manifest is written.
        """
        job = upload_job(
            self.options,
            container,
            name,
            size=size,
            segment_size=segment_size,
            concurrency=concurrency,
            progress=progress,
            headers=object_headers(metadata, content_type),
        )
        spool = Spool(opener, spool_settings(self.options, job.segment_size, job.concurrency))
        with spool.start() as reading:
            return upload_spooled(self._session, reading, replace(job, size=reading.info().size))

    def download(
        self,
        container: str,
        name: str,
        dest_path: str | os.PathLike[str],
        *,
        expected_md5: str | None = None,
        progress: Progress | None = None,
    ) -> DownloadResult:
        """Download to ``dest_path`` via a temp file, verified; ChecksumMismatch if it differs."""
        return download_to(
            self._session,
            container,
            name,
            Path(dest_path),
            chunk_size=self.options.download_chunk_size,
            expected_md5=expected_md5,
            progress=progress,
        )

    def copy_across(
        self,
        other: ObjectsClient,
        src_container: str,
        src_name: str,
        dst_container: str,
        dst_name: str,
        *,
        segment_size: int | None = None,
        concurrency: int | None = None,
        progress: Progress | None = None,
    ) -> UploadResult:
        """Stream an object from this client into ``other`` (another region or account).

        Bytes are read once and re-uploaded (as an SLO when big); they are checked
        against the source's md5 (or its SLO segment md5s) before anything is committed.
        A read cut short starts the copy again (segments stored already are kept).
        Copies of the same object running at once in this process (to several
        targets) share one read of the source.
        """

        return copy_stream(
            self._session,
            other._session,
            src_container,
            src_name,
            job=copy_job(
                other.options,
                dst_container,
                dst_name,
                segment_size=segment_size,
                concurrency=concurrency,
                progress=progress,
            ),
            chunk_size=self.options.download_chunk_size,
            spool=spool_settings(
                self.options,
                segment_size or other.options.segment_size,
                concurrency or other.options.concurrency,
            ),
        )

    # lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> ObjectsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
