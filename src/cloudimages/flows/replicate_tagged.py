"""The ``replicate-tagged`` flow: keep every tagged image of an account replicated.

Runbook, meant for a schedule (the deployment ``replicate-tagged/nightly``):
find every active image that carries ``tag`` and is owned by the source account
→ replicate each one to every target (the replication sequence skips targets
that already have the image, so only what is missing is copied or shared) →
one table artifact row per image and target, and an event per image → fail the
run, after the table is written, if any image could not be replicated.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from ..errors import CloudImagesError
from ..params import ReplicateRequest, ReplicateTaggedRequest
from ..reports import ReplicateTaggedReport, Stopwatch, TaggedImage
from ..steps.catalog import find_tagged_images
from ..steps.clouds import account_region
from ..steps.replication import replicate
from ._publish import publish

__all__ = ["replicate_tagged"]

ARTIFACT_KEY = "replicate-tagged"
EVENT = "cloudimages.image.replicated"
MAX_WORKERS = 8


@flow(
    name="replicate-tagged",
    description="Replicate every image carrying a tag in the source account to target accounts.",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]  # invariant generic in prefect
)
def replicate_tagged(request: ReplicateTaggedRequest) -> ReplicateTaggedReport:
    """Replicate each image tagged ``tag`` in ``source`` to every target; skip what is there.

    Args:
        request: The tag, the account block that owns the images, the target
            blocks and the mode.
    """
    watch = Stopwatch()
    region = account_region(request.source, request.source_region)
    images = find_tagged_images(request.source, region, request.tag)
    results = [
        _replicate_one(
            TaggedImage(image_id=i.id, name=i.name, status="replicated"), request, region
        )
        for i in images
    ]
    report = ReplicateTaggedReport(
        tag=request.tag,
        source=request.source,
        source_region=region,
        targets=list(request.targets),
        images=results,
        duration_seconds=watch.elapsed,
    )
    _publish(report)
    if report.failed:
        ids = ", ".join(image.image_id for image in report.failed)
        msg = (
            f"{len(report.failed)} of {len(report.images)} image(s) tagged {request.tag!r} in"
            f" {request.source} could not be replicated ({ids}); see the {ARTIFACT_KEY!r}"
            " artifact. Rerunning copies only what is still missing."
        )
        raise CloudImagesError(msg)
    return report


def _replicate_one(image: TaggedImage, request: ReplicateTaggedRequest, region: str) -> TaggedImage:
    """Replicate one image; a failure is recorded, not raised."""
    fields = request.model_dump(exclude={"tag", "source_region"})
    one = ReplicateRequest(image_id=image.image_id, source_region=region, **fields)
    try:
        report, errors = replicate(one)
    except CloudImagesError as error:
        get_run_logger().error("Image %s: %s", image.image_id, error)
        return image.model_copy(update={"status": "failed", "message": str(error)})
    publish(
        report,
        key="cloudimages-replicate",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=image.image_id,
        table=report.table_rows(),
    )
    failed = [t for t in report.targets if t.status == "failed"]
    status: Literal["replicated", "failed"] = "failed" if failed or errors else "replicated"
    message = "; ".join(f"{t.account}: {t.message}" for t in failed)
    return image.model_copy(update={"status": status, "message": message, "report": report})


def _publish(report: ReplicateTaggedReport) -> None:
    """The table (one row per image and target) and a markdown summary."""
    description = f"replicate-tagged {report.tag!r} from {report.source}"
    rows: list[dict[str, Any]] = report.table_rows()
    create_table_artifact(table=rows, key=ARTIFACT_KEY, description=description)
    create_markdown_artifact(
        markdown=report.to_markdown(), key=f"{ARTIFACT_KEY}-summary", description=description
    )
