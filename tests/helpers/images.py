"""Real images in the local cloud, made the Rackspace way through the typed client.

Cloud Images has no image-create call: a VHD is uploaded to Cloud Files and an
import task turns it into an image. These helpers do exactly that with an
``ImagesClient`` (its ``AccountSession`` for the upload, ``create_import_task`` and
``wait_for_task`` for the import), so a test's images exist because the service
made them. VHDs are 1-2 MiB; ``ImagePool`` imports a batch up front so a module
pays for its imports once.
"""

from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from cloudimages.client import Image, ImagesClient, Task
from cloudimages.errors import NotFound

__all__ = ["MIB", "ImagePool", "import_image", "import_images", "small_vhd", "start_imports"]

MIB = 1024 * 1024
FAST_POLL = 0.05


def small_vhd(
    directory: Path,
    name: str = "small.vhd",
    *,
    size: int = MIB,
    empty: bool = False,
    subformat: Literal["fixed", "dynamic"] = "fixed",
) -> Path:
    """A VHD of ``size`` bytes of virtual disk: random bytes seeded by ``name``, or zeros.

    The service stores imports as dynamic VHDs, where an all-zero disk takes a few
    KiB and a 1-2 MiB random one about 2 MiB: ``empty`` gives images of two sizes.
    Made with qemu-img directly (``tests.helpers.diskimages.make_vhd`` writes a
    pattern at 3 MiB, so it needs disks of 4 MiB).
    """
    raw = directory / f"{name}.raw"
    raw.write_bytes(bytes(size) if empty else random.Random(name).randbytes(size))
    path = directory / name
    options = f"subformat={subformat},force_size=on"
    command = ["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", options]
    subprocess.run([*command, str(raw), str(path)], check=True, capture_output=True, text=True)
    raw.unlink()
    return path


def upload(images: ImagesClient, container: str, name: str, source: Path) -> None:
    """Put ``source`` into ``container/name`` of the client's region's Cloud Files."""
    files = images.session.endpoint("object-store", images.region)
    images.session.request("PUT", f"{files}/{quote(container, safe='')}")
    url = f"{files}/{quote(container, safe='')}/{quote(name)}"
    images.session.request("PUT", url, content=source.read_bytes())


def start_imports(
    images: ImagesClient, source: Path, names: Sequence[str], *, container: str | None = None
) -> list[Task]:
    """Upload ``source`` once and start one import task per image name."""
    container = container or f"imports-{uuid.uuid4().hex[:10]}"
    upload(images, container, "disk.vhd", source)
    return [images.create_import_task(container, "disk.vhd", name=name) for name in names]


def import_images(
    images: ImagesClient, source: Path, names: Sequence[str], *, timeout: float = 60.0
) -> list[Image]:
    """Import ``source`` once per name (the tasks run in parallel); the active images."""
    tasks = start_imports(images, source, names)
    done = [images.wait_for_task(t.id, timeout=timeout, poll_interval=FAST_POLL) for t in tasks]
    made = []
    for task in done:
        assert task.image_id is not None, task
        made.append(images.get_image(task.image_id))
    assert all(image.status == "active" for image in made), made
    return made


def import_image(images: ImagesClient, source: Path, name: str) -> Image:
    """One active image imported from ``source``."""
    return import_images(images, source, [name])[0]


class ImagePool:
    """Active images imported up front, each handed to one test (never shared).

    ``fill`` imports ``count`` images from one 1 MiB VHD, random (about 2 MiB stored)
    or ``empty`` (a few KiB stored); ``take`` hands out an unused one of that kind;
    ``close`` deletes every image the pool made that still exists.
    """

    def __init__(self, images: ImagesClient, directory: Path) -> None:
        self.images = images
        self.directory = directory
        self.free: dict[bool, list[str]] = {}
        self.made: list[str] = []

    def fill(self, count: int, *, empty: bool = False) -> None:
        kind = "empty" if empty else "random"
        name = f"pool-{kind}-{uuid.uuid4().hex[:8]}.vhd"
        source = small_vhd(self.directory, name, empty=empty)
        names = [f"pool-{kind}-{i}" for i in range(count)]
        ids = [image.id for image in import_images(self.images, source, names)]
        self.made += ids
        self.free.setdefault(empty, []).extend(ids)

    def take(self, *, empty: bool = False) -> str:
        """The id of an unused active image of that kind; fails if the pool ran dry."""
        free = self.free.get(empty)
        assert free, f"the image pool has no unused {'empty' if empty else 'random'} image left"
        return free.pop(0)

    def take_many(self, count: int, *, empty: bool = False) -> list[str]:
        return [self.take(empty=empty) for _ in range(count)]

    def close(self) -> None:
        for image_id in self.made:
            with suppress(NotFound):
                if self.images.get_image(image_id).protected:
                    self.images.update_image(image_id, {"protected": False})
                self.images.delete_image(image_id)
