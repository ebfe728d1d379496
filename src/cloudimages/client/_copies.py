"""Copy an object from one Swift endpoint to another as a stream, retried as a whole.

The source is read once, in order, and uploaded to the target (an SLO when big)
while it is checked against what the source's Swift knows (its md5, or the md5
of every SLO segment). A read cut short is retried here, for the whole stream
(the retry policy's "one stream" place): the source GET itself is not retried
again, and the target keeps every segment already stored, so a retry re-sends
only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from ._downloads import open_object
from ._object_models import UploadResult
from ._streams import IterReader, as_binary
from ._swift import SwiftSession
from ._uploads import UploadJob, upload
from .retry import NO_RETRY, retrying

#: Builds the upload of the copy from the source's size and headers.
JobFor = Callable[[int | None, Mapping[str, str]], UploadJob]


def copy_stream(
    source: SwiftSession,
    target: SwiftSession,
    container: str,
    name: str,
    *,
    job: JobFor,
    chunk_size: int,
) -> UploadResult:
    """Stream ``container/name`` from ``source`` into the object ``job`` describes."""
    for trying in retrying(source.policy, f"copy of {container}/{name}"):
        with trying:
            return _copy_once(source, target, container, name, job=job, chunk_size=chunk_size)
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover


def _copy_once(
    source: SwiftSession,
    target: SwiftSession,
    container: str,
    name: str,
    *,
    job: JobFor,
    chunk_size: int,
) -> UploadResult:
    with open_object(source, container, name, chunk_size=chunk_size, policy=NO_RETRY) as (
        headers,
        chunks,
        check,
    ):
        planned = replace(
            job(check.size, headers), verify=lambda digests: _ignore(check.check(digests))
        )
        return upload(target, as_binary(IterReader(chunks)), planned)


def _ignore(_value: object) -> None:
    return None
