"""Copy an object from one Swift endpoint to others as a stream, read once, retried as a whole.

The source is read once, in order, into a spool (``_spool``) and uploaded to the
target (an SLO when big) while it is checked against what the source's Swift knows
(its md5, or the md5 of every SLO segment); nothing is committed before that check.
Copies of the same source object that run at the same time in this process (a
replicate to many accounts) share one spool: the first starts it, the others
subscribe while it still holds the stream's first segment, and each target reads
the same segment files.

A read cut short is retried here, for the whole stream (the retry policy's "one
stream" place), by each copy for itself: the source GET is not retried again, and
each target keeps every segment already stored, so a retry re-sends only what is
missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from ._downloads import open_object
from ._object_models import UploadResult
from ._spool import Opened, Spool, SpoolSettings, Subscription
from ._swift import SwiftSession
from ._uploads import UploadJob, upload_spooled
from .retry import NO_RETRY, retrying

log = logging.getLogger("cloudimages.client")

#: Builds the upload of the copy from the source's size and headers.
JobFor = Callable[[int | None, Mapping[str, str]], UploadJob]

_Key = tuple[str, str, str, int]
_SHARED: dict[_Key, Spool] = {}
_SHARED_LOCK = threading.Lock()


class ReadCounter:
    """How many source streams copies opened, and how many copies joined one instead."""

    def __init__(self) -> None:
        self.opened = 0
        self.joined = 0


READS = ReadCounter()


def copy_stream(
    source: SwiftSession,
    target: SwiftSession,
    container: str,
    name: str,
    *,
    job: JobFor,
    chunk_size: int,
    spool: SpoolSettings,
) -> UploadResult:
    """Stream ``container/name`` from ``source`` into the object ``job`` describes."""
    for trying in retrying(source.policy, f"copy of {container}/{name}"):
        with trying, _subscribed(source, container, name, chunk_size, spool) as reading:
            info = reading.info()
            return upload_spooled(target, reading, job(info.size, info.headers))
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover


@contextmanager
def _subscribed(
    source: SwiftSession, container: str, name: str, chunk_size: int, settings: SpoolSettings
) -> Iterator[Subscription]:
    """A subscription to the running spool of this object, or to a new one."""
    key = (source.url, container, name, settings.segment_size)

    @contextmanager
    def opener() -> Iterator[Opened]:
        opened = open_object(source, container, name, chunk_size=chunk_size, policy=NO_RETRY)
        with opened as (headers, chunks, check):
            yield Opened(chunks, check.size, headers, check.check)

    def forget(spool: Spool) -> None:
        with _SHARED_LOCK:
            if _SHARED.get(key) is spool:
                del _SHARED[key]

    with _SHARED_LOCK:
        running = _SHARED.get(key)
        subscription = running.subscribe() if running is not None else None
        if subscription is not None:
            READS.joined += 1
            log.info("copy of %s/%s shares a read already under way", container, name)
        else:
            READS.opened += 1
            _SHARED[key] = Spool(opener, settings, on_end=forget)
            subscription = _SHARED[key].start()
    with subscription:
        yield subscription
