"""The background runner that moves import and export tasks through their states.

A bounded pool of worker threads takes task ids from a queue. Each task goes
``pending`` → ``processing`` → ``success`` | ``failure`` (or straight from
``pending`` to ``failure`` when its input is unusable); terminal states never
change. Whatever a task creates (an image, a blob, export segments) is noted
in the task document under ``_``-prefixed keys *before* it is created, so a
failed task, and a task a restart finds half done, can be undone exactly and
run again from scratch: no task stays stuck and nothing is left behind.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..accounts import Account, Accounts
from ..images.store import ImageStore, now_iso
from ..objects.blobs import BlobStore
from ..objects.store import ObjectStore
from ..settings import LocalCloudSettings

log = logging.getLogger(__name__)

TERMINAL = ("success", "failure")
EXPIRES_KEY = "_expires_ts"
FAULT_KEY = "_fault_consumed"


class TaskOutcome(Protocol):
    """A forced outcome: ``failure`` (with ``code``, maybe ``message``) or ``stuck``."""

    @property
    def outcome(self) -> str: ...

    @property
    def code(self) -> object: ...

    @property
    def message(self) -> str | None: ...


class TaskFaults(Protocol):
    """Where forced outcomes come from (``localcloud.faults`` provides one)."""

    def next_task_outcome(self, task_type: str) -> TaskOutcome | None: ...


class TaskFailure(Exception):
    """The task fails with this message; whatever it created is undone."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Interrupted(Exception):
    """The engine is stopping; the task is left for recovery at the next start."""


class Runner(Protocol):
    """What one task type provides (see ``importer`` and ``exporter``)."""

    def check_input(self, task_input: dict[str, Any]) -> None:
        """Raise TaskFailure for unusable input (no I/O): the task fails from pending."""
        ...

    def run(self, job: Job) -> dict[str, Any]:
        """Do the work, noting what it creates first; returns the task's ``result``."""
        ...

    def undo(self, job: Job) -> None:
        """Remove whatever ``job`` noted it created (after a failure or a crash)."""
        ...

    def forced_failure(self, code: object, message: str | None) -> str:
        """The message of a forced failure: ``message`` verbatim, else the coded constant."""
        ...


@dataclass
class Job:
    """One run of one task: its document, its owner and the stores it works on."""

    doc: dict[str, Any]
    account: Account
    settings: LocalCloudSettings
    images: ImageStore
    objects: ObjectStore
    blobs: BlobStore
    tmp_dir: Path
    stopping: threading.Event

    @property
    def input(self) -> dict[str, Any]:
        return dict(self.doc["input"])

    @property
    def region(self) -> str:
        return self.images.region

    def note(self, key: str, value: Any) -> None:
        """Record a private fact (what is about to be created) in the stored task."""
        self.doc[f"_{key}"] = value
        self.images.put_task(self.doc)

    def noted(self, key: str, default: Any = None) -> Any:
        return self.doc.get(f"_{key}", default)

    def checkpoint(self) -> None:
        """Stop here if the engine is stopping."""
        if self.stopping.is_set():
            raise Interrupted

    def pause(self, seconds: float) -> None:
        """Wait, unless the engine stops first."""
        if seconds > 0 and self.stopping.wait(seconds):
            raise Interrupted
        self.checkpoint()

    def linger(self) -> None:
        """Spend ``task_processing_delay`` in ``processing``, so clients can watch it."""
        self.pause(self.settings.task_processing_delay)

    def temp_file(self, suffix: str) -> Path:
        return self.tmp_dir / f"{self.doc['id']}-{uuid.uuid4().hex[:8]}{suffix}"


def is_expired(doc: dict[str, Any], now: float | None = None) -> bool:
    """True once a finished task has outlived its ``expires_at``."""
    expires = doc.get(EXPIRES_KEY)
    return expires is not None and float(expires) <= (time.time() if now is None else now)


def _runners() -> dict[str, Runner]:
    # Imported here because the runners import Job and TaskFailure from this module.
    from . import exporter, importer

    return {"import": importer.RUNNER, "export": exporter.RUNNER}


class TaskEngine:
    """Runs one region's tasks on ``settings.task_workers`` threads."""

    def __init__(
        self,
        settings: LocalCloudSettings,
        image_store: ImageStore,
        object_store: ObjectStore,
        blobs: BlobStore,
        accounts: Accounts,
        *,
        faults: TaskFaults | None = None,
    ) -> None:
        self.settings = settings
        self.images = image_store
        self.objects = object_store
        self.blobs = blobs
        self.accounts = accounts
        self.faults = faults
        self.tmp_dir = Path(settings.data_dir) / "tasks" / image_store.region.lower()
        self._runners = _runners()
        self._queue: queue.Queue[tuple[str, float] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: set[str] = set()  # ids a worker holds, so a task never runs twice at once
        self._lock = threading.Lock()

    # lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        """Sweep leftovers, recover tasks a stop or crash interrupted, start the workers."""
        if self._threads:
            return
        self._stopping.clear()
        self._queue = queue.Queue()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)
        self.sweep()
        self._recover()
        for index in range(self.settings.task_workers):
            self._spawn(self._work, f"tasks-{self.images.region}-{index}")
        self._spawn(self._sweep_loop, f"tasks-{self.images.region}-sweep")

    def stop(self) -> None:
        """Stop taking work and join every thread; running tasks stay ``processing``."""
        self._stopping.set()
        for _ in range(self.settings.task_workers):
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def submit(self, task_id: str) -> None:
        """Queue a stored task; it starts once ``task_pending_delay`` has passed."""
        self._queue.put((task_id, time.monotonic() + self.settings.task_pending_delay))

    def sweep(self) -> int:
        """Delete finished tasks whose time to live is over; returns how many."""
        now = time.time()
        expired = [doc["id"] for doc in self.images.tasks() if is_expired(doc, now)]
        for task_id in expired:
            self.images.delete_task(task_id)
        return len(expired)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _sweep_loop(self) -> None:
        interval = min(max(self.settings.task_ttl / 2, 0.5), 60.0)
        while not self._stopping.wait(interval):
            self.sweep()

    def _recover(self) -> None:
        """Resubmit pending tasks; undo and re-run the ones found mid-processing."""
        for doc in self.images.tasks():
            if doc["status"] == "processing":
                job = self._job(doc)
                if job is not None:
                    self._runners[doc["type"]].undo(job)
                private = {k: v for k, v in doc.items() if k == FAULT_KEY or not k.startswith("_")}
                self.images.put_task(private)
                log.info("task %s was interrupted while processing; running it again", doc["id"])
            if doc["status"] in ("pending", "processing"):
                self.submit(doc["id"])

    # one task -----------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            task_id, due = item
            if self._stopping.wait(max(0.0, due - time.monotonic())):
                return
            with self._lock:
                if task_id in self._running:
                    continue
                self._running.add(task_id)
            try:
                self._run(task_id)
            except Exception:  # keep the worker alive; the next start recovers the task
                log.exception("task %s could not be run", task_id)
            finally:
                with self._lock:
                    self._running.discard(task_id)

    def _job(self, doc: dict[str, Any]) -> Job | None:
        account = self.accounts.by_tenant(doc["owner"])
        if account is None:
            return None
        return Job(
            doc,
            account,
            self.settings,
            self.images,
            self.objects,
            self.blobs,
            self.tmp_dir,
            self._stopping,
        )

    def _run(self, task_id: str) -> None:
        doc = self.images.get_task(task_id)
        if doc is None or doc["status"] in TERMINAL:
            return
        runner = self._runners[doc["type"]]
        job = self._job(doc)
        if job is None:
            self._finish(doc, "failure", message=f"The owner {doc['owner']} no longer exists.")
            return
        if doc["status"] == "pending":
            try:
                runner.check_input(job.input)
            except TaskFailure as failure:
                self._finish(doc, "failure", message=failure.message)
                return
            self._set(doc, status="processing")
        self._process(job, runner)

    def _process(self, job: Job, runner: Runner) -> None:
        try:
            self._apply_fault(job, runner)
            result = runner.run(job)
        except Interrupted:
            log.info(
                "task %s interrupted (stop, or forced stuck); resumes at next start", job.doc["id"]
            )
            return
        except TaskFailure as failure:
            runner.undo(job)
            self._finish(job.doc, "failure", message=failure.message)
            return
        except Exception:  # the worker's catch-all: a bug must fail the task, not strand it
            log.exception("task %s crashed", job.doc["id"])
            runner.undo(job)
            self._finish(job.doc, "failure", message="Internal error while running the task.")
            return
        self._finish(job.doc, "success", result=result)

    def _apply_fault(self, job: Job, runner: Runner) -> None:
        """Consume one forced outcome per task, at its first processing start."""
        if self.faults is None or job.doc.get(FAULT_KEY):
            return
        forced = self.faults.next_task_outcome(job.doc["type"])
        job.note(FAULT_KEY[1:], True)
        if forced is None:
            return
        if forced.outcome == "stuck":  # stays processing without holding a worker thread;
            raise Interrupted  # like an interrupted task, it runs again after a restart
        raise TaskFailure(runner.forced_failure(forced.code, forced.message))

    def _set(self, doc: dict[str, Any], **fields: Any) -> None:
        doc.update(fields, updated_at=now_iso())
        self.images.put_task(doc)

    def _finish(
        self,
        doc: dict[str, Any],
        status: str,
        *,
        result: dict[str, Any] | None = None,
        message: str = "None",
    ) -> None:
        """Enter a terminal state; ``expires_at`` is exactly ``updated_at`` + ttl."""
        done = math.floor(time.time())
        expires = done + self.settings.task_ttl
        for key in [k for k in doc if k.startswith("_") and k != FAULT_KEY]:
            del doc[key]
        doc.update(status=status, message=message, updated_at=now_iso(done))
        doc.update(expires_at=now_iso(expires), **{EXPIRES_KEY: expires})
        if result is not None:
            doc["result"] = result
        self.images.put_task(doc)
