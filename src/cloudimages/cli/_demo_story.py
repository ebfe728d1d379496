"""The demo's story, step by step: each function one verified step (see ``_demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..diskimage import compare
from ..errors import DiskImageError
from ._demo import (
    DEMO_ACCOUNTS,
    DISK_SIZE,
    EXPORT_CONTAINER,
    IMAGE_NAME,
    PRIVATE_BLOCK,
    PRIVATE_CLOUD,
    Demo,
    check,
    connect_prefect,
    make_disk_image,
)

if TYPE_CHECKING:
    from ..blocks import CloudImagesAccount
    from ..localcloud import LocalCloud


def tell(demo: Demo, cloud: LocalCloud) -> None:
    """Every step of the story, in order."""
    source = _disk_image(demo)
    with demo.step("connect to Prefect") as detail:
        detail.append(connect_prefect(demo.report.prefect_api))
    blocks = _blocks(demo, cloud)
    image_id = _import(demo, blocks["demo-alice"], source)
    _share(demo, blocks["demo-bob"], image_id)
    _replicate(demo, blocks["demo-carol"], image_id)
    _migrate(demo, image_id, source)
    _export(demo, image_id, source)


def _disk_image(demo: Demo) -> Path:
    with demo.step("make a disk image with qemu-img") as detail:
        source = make_disk_image(demo.work / "images")
        demo.report.source_image = str(source)
        detail.append(f"{source.name}: qcow2, {DISK_SIZE}, 1 MiB of 0x5a at 1 MiB")
    return source


def _blocks(demo: Demo, cloud: LocalCloud) -> dict[str, CloudImagesAccount]:
    with demo.step("save account blocks") as detail:
        blocks = demo.blocks(cloud)
        demo.private_cloud(cloud)
        detail.append(", ".join(f"{n} ({u}, {r})" for n, (u, r) in DEMO_ACCOUNTS.items()))
        detail.append(f"{PRIVATE_BLOCK} (OpenStack {PRIVATE_CLOUD[0]}, {PRIVATE_CLOUD[2]})")
    return blocks


def _import(demo: Demo, alice: CloudImagesAccount, source: Path) -> str:
    from ..flows import import_image
    from ..params import ImportRequest

    with demo.step("import into alice (DFW)") as detail:
        imported = import_image(
            ImportRequest(
                source=str(source),
                account="demo-alice",
                name=IMAGE_NAME,
                tags=["demo"],
                properties={"com.example.purpose": "demo"},
            )
        )
        demo.keep("import", imported)
        image_id = demo.report.image_id = imported.image_id
        image = alice.images_client().get_image(image_id)
        check(image.status == "active", f"image {image_id} is {image.status}, not active")
        detail.append(f"image {image_id} active in DFW")
    return image_id


def _share(demo: Demo, bob: CloudImagesAccount, image_id: str) -> None:
    from ..flows import share_image
    from ..params import ShareRequest

    with demo.step("share with bob, accepted") as detail:
        request = ShareRequest(
            image_id=image_id, account="demo-alice", consumers=["demo-bob"], accept=True
        )
        demo.keep("share", share_image(request))
        bob_images = bob.images_client()
        seen = bob_images.get_member(image_id, bob_images.session.tenant_id)
        check(seen.status == "accepted", f"bob's membership of {image_id} is {seen.status}")
        visible = {i.id for i in bob_images.list_images(visibility="shared")}
        check(image_id in visible, f"bob does not list the shared image {image_id}")
        detail.append("bob lists the image as shared and accepted")


def _replicate(demo: Demo, carol: CloudImagesAccount, image_id: str) -> None:
    from ..flows import replicate_image
    from ..params import ReplicateRequest

    with demo.step("replicate a copy to carol (IAD)") as detail:
        replicated = replicate_image(
            ReplicateRequest(
                image_id=image_id, source="demo-alice", targets=["demo-carol"], mode="auto"
            )
        )
        demo.keep("replicate", replicated)
        target = replicated.targets[0]
        check(target.image_id is not None, f"replicating to carol failed: {target.message}")
        assert target.image_id is not None
        copy = carol.images_client("IAD").get_image(target.image_id)
        check(copy.status == "active", f"carol's copy {copy.id} is {copy.status}, not active")
        detail.append(f"carol has image {copy.id} ({target.mode}) active in IAD")


def _migrate(demo: Demo, image_id: str, source: Path) -> None:
    """Rackspace DFW → the private cloud: replicate, then download there and compare."""
    from ..flows import export_image, replicate_image
    from ..params import ExportRequest, ReplicateRequest

    region = PRIVATE_CLOUD[2]
    with demo.step(f"migrate to the private cloud ({region})") as detail:
        moved = replicate_image(
            ReplicateRequest(image_id=image_id, source="demo-alice", targets=[PRIVATE_BLOCK])
        )
        demo.keep("migrate", moved)
        target = moved.targets[0]
        check(target.image_id is not None, f"migrating failed: {target.message}")
        assert target.image_id is not None
        download = demo.work / "private" / f"{target.image_id}.img"
        download.parent.mkdir(parents=True, exist_ok=True)
        export_image(
            ExportRequest(
                image_id=target.image_id,
                account=PRIVATE_BLOCK,
                download_to=str(download),
                compare_with=str(source),
            )
        )
        detail.append(
            f"image {target.image_id} active in {region} ({target.local_copy or 'streamed'});"
            " downloaded from there, same content as the source (qemu-img compare)"
        )


def _export(demo: Demo, image_id: str, source: Path) -> None:
    from ..flows import export_image
    from ..params import ExportRequest

    with demo.step("export from alice, download and compare") as detail:
        download = demo.work / "export" / f"{image_id}.vhd"
        download.parent.mkdir(parents=True, exist_ok=True)
        exported = export_image(
            ExportRequest(
                image_id=image_id,
                account="demo-alice",
                container=EXPORT_CONTAINER,
                download_to=str(download),
                compare_with=str(source),
            )
        )
        demo.keep("export", exported)
        check(download.is_file(), f"the export was not downloaded to {download}")
        if not compare(download, source, fmt_a="vpc", fmt_b="qcow2"):
            msg = f"the exported {download.name} differs from {source.name}"
            raise DiskImageError(msg)
        detail.append(
            f"{EXPORT_CONTAINER}/{exported.object}: {exported.segments} segment(s), "
            "same content as the source (qemu-img compare)"
        )
