"""Cloud Files as a stream source and sink for images crossing dialects.

An export (a DLO in Cloud Files) is read once as an ``ImageStream``, checked as
Swift allows (its length; each SLO segment's md5); another dialect's image
stream is uploaded into Cloud Files as a resumable SLO and checked against
its source before the manifest is committed. Both are retried whole when a
read is cut short (the retry policy's "one stream" place).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._downloads import open_object
from ._jobs import image_opener
from ._object_models import UploadResult
from .cloud import Exported, ImageStream, Staging
from .objects import ObjectsClient
from .retry import NO_RETRY, retrying

if TYPE_CHECKING:
    from ._segments import Progress
    from .cloud import Cloud


@contextmanager
def open_export_stream(files: ObjectsClient, exported: Exported) -> Iterator[ImageStream]:
    """The export's bytes, once; the check compares what arrived with what Swift knows."""
    with open_object(
        files.swift,
        exported.container,
        exported.object,
        chunk_size=files.options.download_chunk_size,
        policy=NO_RETRY,
    ) as (_headers, chunks, check):
        yield ImageStream(size=check.size, chunks=chunks, verify=lambda d: _ignore(check.check(d)))


def upload_from(
    files: ObjectsClient,
    source: Cloud,
    exported: Exported,
    staging: Staging,
    *,
    segment_size: int,
    progress: Progress | None = None,
) -> UploadResult:
    """Stream ``source``'s image bytes into ``staging`` as a resumable, verified SLO."""
    what = f"copy of {exported.object} into {staging}"
    for trying in retrying(files.swift.policy, what):
        with trying:
            return files.upload_opened(
                image_opener(lambda: source.open_exported(exported)),
                staging.container,
                staging.name,
                segment_size=segment_size,
                progress=progress,
            )
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover


def _ignore(_value: object) -> None:
    return None
