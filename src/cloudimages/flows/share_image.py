"""The ``share-image`` flow: the owner adds members; given their blocks, they accept.

Runbook: refuse sharing with the owner itself → make sure the image exists →
for each consumer, add its tenant as a member (skipped when it is one) → if
``accept``, accept as the consumer (skipped when accepted).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from ..errors import ConfigurationError
from ..params import ShareRequest
from ..reports import ShareEntry, ShareReport, Stopwatch
from ..steps.catalog import get_image, member_id
from ..steps.clouds import account_region
from ..steps.sequences import share_with
from ._publish import publish

__all__ = ["share_image"]

EVENT = "cloudimages.image.shared"


def refuse_self(owner_tenant: str, consumer: str, consumer_tenant: str, image_id: str) -> None:
    if consumer_tenant == owner_tenant:
        msg = (
            f"cannot share image {image_id} with {consumer!r}: that block logs in as the image's"
            f" owner (tenant {owner_tenant}), who sees the image already. Name another account."
        )
        raise ConfigurationError(msg)


@flow(name="share-image", description="Share an image with other accounts, accepting for them.")
def share_image(request: ShareRequest) -> ShareReport:
    """Share an image; a rerun finds the members and acceptances and skips them.

    Args:
        request: The image, the account block that owns it, the consumers' blocks,
            and whether to accept for them.
    """
    watch = Stopwatch()
    owner, region = request.account, account_region(request.account, request.region)
    consumers = list(dict.fromkeys(request.consumers))
    owner_tenant = member_id(owner, region)
    for name in consumers:
        refuse_self(owner_tenant, name, member_id(name, region), request.image_id)
    get_image(owner, region, request.image_id)  # NotFound, naming the image, before any change
    entries = []
    for name in consumers:
        member = share_with(owner, region, request.image_id, name, accept=request.accept)
        entries.append(
            ShareEntry(
                account=name,
                tenant_id=member.tenant_id,
                status=member.status,
                skipped=member.skipped,
            )
        )
    report = ShareReport(
        image_id=request.image_id,
        account=owner,
        region=region,
        consumers=entries,
        duration_seconds=watch.elapsed,
    )
    get_run_logger().info("Image %s is shared with %s", request.image_id, ", ".join(consumers))
    publish(
        report,
        key="cloudimages-share",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=request.image_id,
    )
    return report
