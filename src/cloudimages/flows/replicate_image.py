"""The ``replicate-image`` flow: one image to many accounts and regions.

The work is the replication sequence (``steps.replication``): share where the
target is in the image's region, copy (export, stream, import) elsewhere, in
parallel under per-account limits, skipping targets that have the image.
"""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from ..params import ReplicateRequest
from ..reports import ReplicateReport
from ..steps.replication import replicate
from ._publish import publish, with_report

__all__ = ["MAX_WORKERS", "replicate_image"]

EVENT = "cloudimages.image.replicated"
MAX_WORKERS = 8


@flow(
    name="replicate-image",
    description="Replicate an image to other accounts and regions: share or copy, in parallel.",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]  # invariant generic in prefect
)
def replicate_image(request: ReplicateRequest) -> ReplicateReport:
    """Replicate an image; a rerun skips every target that has it already.

    Args:
        request: The image, the account block that owns it, the target blocks
            (each block's region is the target region) and the mode.
    """
    report, errors = replicate(request)
    publish(
        report,
        key="cloudimages-replicate",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=request.image_id,
        table=report.table_rows(),
    )
    if errors:
        raise with_report(errors[0], report)
    return report
