"""The ``replicate-tagged`` flow: keep every tagged image of an account replicated.

Runbook, meant for a schedule (the deployment ``replicate-tagged/nightly``):
find every active image that carries ``tag`` and is owned by the source account
→ replicate each one to every target with ``replicate-image`` (a subflow per
image; it skips targets that already have the image, so only what is missing
is copied or shared) → one table artifact row per image and target → fail the
run, after the table is written, if any image could not be replicated.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel, Field

from ..blocks import CloudImagesAccount, load_account
from ..errors import CloudImagesError
from ..tasks._retry import step
from .replicate_image import replicate_image
from .reports import ReplicateReport, Stopwatch

__all__ = ["ReplicateTaggedReport", "TaggedImage", "replicate_tagged"]

ARTIFACT_KEY = "replicate-tagged"


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


@step("find-tagged-images")
def find_tagged_images(account: CloudImagesAccount, region: str, tag: str) -> list[TaggedImage]:
    """Active images carrying ``tag`` that the account owns (not ones shared with it)."""
    images = account.images_client(region)
    owner = images.session.tenant_id
    found = [
        TaggedImage(image_id=image.id, name=image.name, status="replicated")
        for image in images.list_images(tags=[tag], owner=owner, status="active")
        if image.owner in (None, owner) and tag in image.tags
    ]
    get_run_logger().info("%d image(s) tagged %r in %s", len(found), tag, region)
    return found


@flow(
    name="replicate-tagged",
    description="Replicate every image carrying a tag in the source account to target accounts.",
)
def replicate_tagged(  # noqa: PLR0917 (flow parameters are positional in Prefect's API)
    tag: str,
    source: str,
    targets: list[str],
    mode: Literal["auto", "share", "copy"] = "auto",
    source_region: str | None = None,
    max_per_account: int = 2,
) -> ReplicateTaggedReport:
    """Replicate each image tagged ``tag`` in ``source`` to every target; skip what is there.

    Args:
        tag: The tag that marks images to replicate (e.g. replicate-nightly).
        source: Name of the Cloud Images Account block that owns the images.
        targets: Names of the Cloud Images Account blocks to replicate to.
        mode: share (same region), copy (export, copy, import), or auto: share where
            the target's region is the source's, copy otherwise.
        source_region: Region of the source images; empty: the source block's region.
        max_per_account: Targets worked on at once per account within one image's run.
    """
    watch = Stopwatch()
    block = load_account(source)
    region = (source_region or block.effective_region).upper()
    images = find_tagged_images(block, region, tag)
    results = [
        _replicate_one(
            image,
            source=source,
            targets=targets,
            mode=mode,
            region=region,
            max_per_account=max_per_account,
        )
        for image in images
    ]
    report = ReplicateTaggedReport(
        tag=tag,
        source=source,
        source_region=region,
        targets=list(targets),
        images=results,
        duration_seconds=watch.elapsed,
    )
    _publish(report)
    if report.failed:
        ids = ", ".join(image.image_id for image in report.failed)
        msg = (
            f"{len(report.failed)} of {len(report.images)} image(s) tagged {tag!r} in {source}"
            f" could not be replicated ({ids}); see the replicate-image runs and the"
            f" {ARTIFACT_KEY!r} artifact. Rerunning copies only what is still missing."
        )
        raise CloudImagesError(msg)
    return report


def _replicate_one(
    image: TaggedImage,
    *,
    source: str,
    targets: list[str],
    mode: Literal["auto", "share", "copy"],
    region: str,
    max_per_account: int,
) -> TaggedImage:
    """Run ``replicate-image`` for one image as a subflow; a failure is recorded, not raised."""
    state = replicate_image(
        image_id=image.image_id,
        source=source,
        targets=targets,
        mode=mode,
        source_region=region,
        max_per_account=max_per_account,
        return_state=True,
    )
    if not state.is_completed():
        message = state.message or f"replicate-image ended {state.name}"
        get_run_logger().error("Image %s: %s", image.image_id, message)
        return image.model_copy(update={"status": "failed", "message": message})
    report = state.result()
    assert isinstance(report, ReplicateReport)
    failed = [t for t in report.targets if t.status == "failed"]
    status: Literal["replicated", "failed"] = "failed" if failed else "replicated"
    message = "; ".join(f"{t.account}: {t.message}" for t in failed)
    return image.model_copy(update={"status": status, "message": message, "report": report})


def _publish(report: ReplicateTaggedReport) -> None:
    """The table (one row per image and target) and a markdown summary."""
    description = f"replicate-tagged {report.tag!r} from {report.source}"
    create_table_artifact(table=report.table_rows(), key=ARTIFACT_KEY, description=description)
    create_markdown_artifact(
        markdown=report.to_markdown(), key=f"{ARTIFACT_KEY}-summary", description=description
    )
