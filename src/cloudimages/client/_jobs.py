"""From the client's options and a call's arguments to what a transfer needs, decided up front."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO
from urllib.parse import urlsplit

from ._budget import transfer_buffers
from ._object_models import UploadOptions, user_metadata
from ._segments import Progress
from ._spool import Opened, Opener, SpoolSettings
from ._streams import open_reader, open_url
from ._uploads import UploadJob, object_headers
from .cloud import ImageStream


def upload_job(
    options: UploadOptions,
    container: str,
    name: str,
    *,
    size: int | None,
    segment_size: int | None,
    concurrency: int | None,
    progress: Progress | None,
    headers: Mapping[str, str],
) -> UploadJob:
    """The upload of ``container/name``: the call's settings, else the client's."""
    return UploadJob(
        container=container,
        name=name,
        size=size,
        segment_size=segment_size or options.segment_size,
        concurrency=concurrency or options.concurrency,
        segment_container=options.segment_container or f"{container}_segments",
        headers=dict(headers),
        buffers=transfer_buffers(),
        progress=progress,
        content_md5=options.content_md5,
    )


def copy_job(
    options: UploadOptions,
    container: str,
    name: str,
    *,
    segment_size: int | None,
    concurrency: int | None,
    progress: Progress | None,
) -> Callable[[int | None, Mapping[str, str]], UploadJob]:
    """The upload of a copy, once the source's size and headers (its metadata) are known."""

    def job(size: int | None, headers: Mapping[str, str]) -> UploadJob:
        return upload_job(
            options,
            container,
            name,
            size=size,
            segment_size=segment_size,
            concurrency=concurrency,
            progress=progress,
            headers=object_headers(user_metadata(headers), headers.get("content-type")),
        )

    return job


def spool_settings(options: UploadOptions, segment_size: int, concurrency: int) -> SpoolSettings:
    """Where and how far ahead a stream is spooled for uploads of ``concurrency`` workers."""
    return SpoolSettings(
        segment_size=segment_size,
        window=max(options.spool_segments, concurrency + 1, 2),
        directory=str(options.spool_dir) if options.spool_dir else None,
        buffers=transfer_buffers(),
    )


def stream_opener(options: UploadOptions, source: str | BinaryIO, size: int | None) -> Opener:
    """How to open ``source`` (an http(s) URL or a binary file object) as a stream."""
    if not isinstance(source, str):
        reader, chunk = source, options.download_chunk_size
        return lambda: open_reader(reader, size=size, chunk_size=chunk)
    if urlsplit(source).scheme in ("http", "https"):
        url, timeout = source, options.timeout
        return lambda: open_url(url, timeout=timeout, size=size)
    msg = f"upload_stream() takes an http(s) URL or a binary file object, not {source!r}"
    raise ValueError(msg)


def image_opener(open_stream: Callable[[], AbstractContextManager[ImageStream]]) -> Opener:
    """Another cloud's image stream as a spool source; its ``verify`` checks what arrived."""

    @contextmanager
    def opener() -> Iterator[Opened]:
        with open_stream() as stream:
            yield Opened(stream.chunks, stream.size, check=stream.verify)

    return opener
