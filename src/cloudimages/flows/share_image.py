"""The ``share-image`` flow: the owner adds members; given their blocks, they accept.

Runbook: load the owner's block and every consumer's → refuse sharing with the
owner itself → for each consumer, add its tenant as a member (skipped when it
is one) → if ``accept``, accept as the consumer (skipped when accepted).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from ..blocks import CloudImagesAccount, load_account
from ..errors import ConfigurationError
from ..tasks.images import get_image
from ..tasks.sharing import Membership, accept_image, add_image_member
from ._publish import publish
from .reports import ShareEntry, ShareReport, Stopwatch

__all__ = ["share_image", "share_with"]

EVENT = "cloudimages.image.shared"


def tenant_of(block: CloudImagesAccount) -> str:
    """The tenant id the block logs in as (one Identity call, then cached)."""
    return block.session().tenant_id


def share_with(
    owner: CloudImagesAccount,
    region: str,
    image_id: str,
    consumer: CloudImagesAccount,
    *,
    accept: bool,
) -> Membership:
    """Make ``consumer`` a member of the image, and accept for it when asked."""
    added = add_image_member(owner, region, image_id, tenant_of(consumer))
    if not accept:
        return added
    accepted = accept_image(consumer, region, image_id)
    return accepted.model_copy(update={"skipped": added.skipped and accepted.skipped})


def refuse_self(owner_tenant: str, consumer: str, consumer_tenant: str, image_id: str) -> None:
    if consumer_tenant == owner_tenant:
        msg = (
            f"cannot share image {image_id} with {consumer!r}: that block logs in as the image's"
            f" owner (tenant {owner_tenant}), who sees the image already. Name another account."
        )
        raise ConfigurationError(msg)


@flow(name="share-image", description="Share an image with other accounts, accepting for them.")
def share_image(
    image_id: str,
    account: str,
    consumers: list[str],
    accept: bool = True,
    region: str | None = None,
) -> ShareReport:
    """Share an image; a rerun finds the members and acceptances and skips them.

    Args:
        image_id: The image to share (the account must own it).
        account: Name of the Cloud Images Account block that owns the image.
        consumers: Names of the blocks of the accounts to share with.
        accept: Also accept the share as each consumer (needs their blocks).
        region: Region of the image; empty: the owner block's region.
    """
    watch = Stopwatch()
    owner = load_account(account)
    where = (region or owner.effective_region).upper()
    blocks = {name: load_account(name) for name in dict.fromkeys(consumers)}
    owner_tenant = tenant_of(owner)
    for name, block in blocks.items():
        refuse_self(owner_tenant, name, tenant_of(block), image_id)
    get_image(owner, where, image_id)  # NotFound, naming the image, before any change
    entries = []
    for name, block in blocks.items():
        member = share_with(owner, where, image_id, block, accept=accept)
        entries.append(
            ShareEntry(
                account=name,
                tenant_id=member.tenant_id,
                status=member.status,
                skipped=member.skipped,
            )
        )
    report = ShareReport(
        image_id=image_id,
        account=account,
        region=where,
        consumers=entries,
        duration_seconds=watch.elapsed,
    )
    get_run_logger().info("Image %s is shared with %s", image_id, ", ".join(blocks))
    publish(
        report,
        key="cloudimages-share",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=image_id,
    )
    return report
