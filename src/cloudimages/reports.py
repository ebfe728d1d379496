"""What each pipeline reports: pydantic models (JSON for ``--json``) with markdown rendering.

No Prefect here: the CLI prints these, the flows publish them as artifacts and events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ExportReport",
    "ImportReport",
    "ReplicateReport",
    "ReplicateTaggedReport",
    "ShareEntry",
    "ShareReport",
    "StepTiming",
    "Stopwatch",
    "TaggedImage",
    "TargetResult",
]


class StepTiming(BaseModel):
    """How long one step of a flow took."""

    name: str
    seconds: float


class Stopwatch:
    """Times the steps of one flow run: ``with watch.step("upload"): ...``."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: list[StepTiming] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.steps.append(StepTiming(name=name, seconds=round(time.monotonic() - began, 3)))

    @property
    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)


def _table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {'' if value is None else value} |" for key, value in rows]
    return "\n".join(lines)


def _steps(steps: list[StepTiming]) -> str:
    if not steps:
        return ""
    lines = ["", "| step | seconds |", "|---|---|"]
    lines += [f"| {s.name} | {s.seconds:.2f} |" for s in steps]
    return "\n".join(lines)


class ImportReport(BaseModel):
    """The outcome of ``import-image``."""

    image_id: str
    name: str
    account: str = Field(description="The account block's name.")
    region: str
    source: str
    sha256: str = Field(description="sha256 of the source content, as given.")
    size: int = Field(description="Bytes of the source, as given.")
    virtual_size: int | None
    checksum: str | None = Field(description="The image's checksum, as the service reports it.")
    skipped: bool = Field(description="True when the image existed already; nothing was done.")
    converted: bool = False
    disk_format: str | None = Field(default=None, description="The format it was imported as.")
    uploaded_size: int = Field(default=0, description="Bytes of the VHD that was staged.")
    uploaded_segments: int = 0
    skipped_segments: int = 0
    staging_object: str | None = None
    task_id: str | None = None
    import_attempts: int = Field(default=0, description="Import tasks this run created.")
    replaced_tasks: list[str] = Field(
        default_factory=list, description="Stuck import tasks of earlier runs given up on."
    )
    properties: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    duration_seconds: float
    steps: list[StepTiming] = Field(default_factory=list)

    def to_markdown(self) -> str:
        verb = "already existed (nothing imported)" if self.skipped else "imported"
        rows: list[tuple[str, Any]] = [
            ("image id", f"`{self.image_id}`"),
            ("name", self.name),
            ("account / region", f"{self.account} / {self.region}"),
            ("source", self.source),
            ("source sha256", f"`{self.sha256}`"),
            ("source bytes", self.size),
            ("virtual size", self.virtual_size),
            ("image checksum", self.checksum),
            ("imported as", f"{self.disk_format}{' (converted)' if self.converted else ''}"),
            (
                "segments sent / already stored",
                f"{self.uploaded_segments} / {self.skipped_segments}",
            ),
            ("import task", self.task_id),
            ("stuck tasks replaced", ", ".join(self.replaced_tasks) or None),
            ("duration (s)", f"{self.duration_seconds:.2f}"),
        ]
        return f"# Image {self.name!r} {verb}\n\n{_table(rows)}\n{_steps(self.steps)}\n"


class ExportReport(BaseModel):
    """The outcome of ``export-image``."""

    image_id: str
    account: str
    region: str
    container: str | None = Field(description="Where the export went; None: straight to a file.")
    object: str = Field(description="The export (``<image id>.vhd``), or the image id.")
    size: int
    segments: int
    downloaded_to: str | None = None
    compared: bool | None = Field(description="True when qemu-img compare matched; None: no.")
    skipped: bool = Field(description="True when a verified export existed already.")
    task_id: str | None = None
    duration_seconds: float
    steps: list[StepTiming] = Field(default_factory=list)

    def to_markdown(self) -> str:
        verb = "was exported already" if self.skipped else "exported"
        rows: list[tuple[str, Any]] = [
            ("image id", f"`{self.image_id}`"),
            ("account / region", f"{self.account} / {self.region}"),
            ("object", f"{self.container}/{self.object}" if self.container else self.object),
            ("bytes / segments", f"{self.size} / {self.segments}"),
            ("export task", self.task_id),
            ("downloaded to", self.downloaded_to),
            ("qemu-img compare", self.compared),
            ("duration (s)", f"{self.duration_seconds:.2f}"),
        ]
        return f"# Image {self.image_id} {verb}\n\n{_table(rows)}\n{_steps(self.steps)}\n"


class ShareEntry(BaseModel):
    """One consumer of a shared image."""

    account: str = Field(description="The consumer's block name.")
    tenant_id: str
    status: str = Field(description="pending, accepted or rejected.")
    skipped: bool = Field(description="True when nothing had to change.")


class ShareReport(BaseModel):
    """The outcome of ``share-image``: one entry per consumer."""

    image_id: str
    account: str
    region: str
    consumers: list[ShareEntry]
    duration_seconds: float

    @property
    def skipped(self) -> bool:
        return all(entry.skipped for entry in self.consumers)

    def to_markdown(self) -> str:
        lines = [
            f"# Image {self.image_id} shared from {self.account} ({self.region})",
            "",
            "| consumer | tenant | status | skipped |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {e.account} | {e.tenant_id} | {e.status} | {e.skipped} |" for e in self.consumers
        ]
        return "\n".join([*lines, "", f"Duration: {self.duration_seconds:.2f} s", ""])


class TargetResult(BaseModel):
    """What happened for one target of ``replicate-image``."""

    account: str = Field(description="The target's block name.")
    region: str
    mode: Literal["share", "copy"]
    image_id: str | None = Field(description="The image the target now sees.")
    skipped: bool
    status: Literal["shared", "copied", "skipped", "failed"]
    message: str
    duration_seconds: float
    local_copy: str | None = Field(
        default=None, description="Why the bytes were copied to this machine (None: streamed)."
    )


class ReplicateReport(BaseModel):
    """The outcome of ``replicate-image``: one entry per target."""

    image_id: str
    source: str
    source_region: str
    targets: list[TargetResult]
    export_skipped: bool | None = Field(
        default=None, description="Copy mode: whether the source export existed already."
    )
    duration_seconds: float

    def table_rows(self) -> list[dict[str, Any]]:
        return [t.model_dump() for t in self.targets]

    def to_markdown(self) -> str:
        lines = [
            f"# Image {self.image_id} replicated from {self.source} ({self.source_region})",
            "",
            "| target | region | mode | image id | status | seconds | message |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {t.account} | {t.region} | {t.mode} | `{t.image_id}` | {t.status} |"
            f" {t.duration_seconds:.2f} | {t.message} |"
            for t in self.targets
        ]
        return "\n".join([*lines, "", f"Duration: {self.duration_seconds:.2f} s", ""])


class TaggedImage(BaseModel):
    """One tagged image of the source account and what replicating it did."""

    image_id: str
    name: str | None = None
    status: Literal["replicated", "failed"]
    message: str = ""
    report: ReplicateReport | None = Field(
        default=None, description="The replicate-image report (absent when it failed)."
    )


class ReplicateTaggedReport(BaseModel):
    """The outcome of ``replicate-tagged``: one entry per tagged image."""

    tag: str
    source: str
    source_region: str
    targets: list[str]
    images: list[TaggedImage]
    duration_seconds: float

    @property
    def failed(self) -> list[TaggedImage]:
        return [image for image in self.images if image.status == "failed"]

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per image and target (one row for an image whose replication failed)."""
        rows: list[dict[str, Any]] = []
        for image in self.images:
            base = {"image_id": image.image_id, "image_name": image.name or ""}
            if image.report is None:
                rows.append(
                    {**base, "target": "", "region": "", "mode": "", "target_image_id": ""}
                    | {"status": "failed", "skipped": False, "message": image.message}
                )
                continue
            rows += [
                {
                    **base,
                    "target": t.account,
                    "region": t.region,
                    "mode": t.mode,
                    "target_image_id": t.image_id or "",
                    "status": t.status,
                    "skipped": t.skipped,
                    "message": t.message,
                }
                for t in image.report.targets
            ]
        return rows

    def to_markdown(self) -> str:
        done = sum(1 for image in self.images if image.status == "replicated")
        lines = [
            f"# Images tagged `{self.tag}` in {self.source} ({self.source_region})",
            "",
            f"{len(self.images)} image(s), {done} replicated to {', '.join(self.targets)},"
            f" {len(self.failed)} failed. Duration: {self.duration_seconds:.2f} s.",
            "",
            "| image | name | target | region | mode | target image | status | message |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| `{r['image_id']}` | {r['image_name']} | {r['target']} | {r['region']} |"
            f" {r['mode']} | `{r['target_image_id']}` | {r['status']} | {r['message']} |"
            for r in self.table_rows()
        ]
        return "\n".join([*lines, ""])
