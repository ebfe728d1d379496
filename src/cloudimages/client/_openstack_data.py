"""What the OpenStack dialect checks and builds around Glance's data calls.

A failed import as Glance 33 marks it, the digests of a stream and their
comparison with the image record, and a download of an image's bytes to a
file (via a temporary file, checked, retried whole when cut short).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ChecksumMismatch
from ._hashing import Digests
from ._object_models import DownloadResult, UploadResult
from .glance import Hashes
from .models import Image
from .retry import retrying

if TYPE_CHECKING:
    from .openstack import OpenStackCloud


def failed_import(image: Image) -> bool:
    """Glance 33 marks a failed import in ``os_glance_failed_import``, not in the status."""
    failed = image.properties.get("os_glance_failed_import")
    importing = image.properties.get("os_glance_importing_to_stores")
    return bool(failed) and not importing


def digests_of(hashes: Hashes) -> Digests:
    return Digests(hashes.size, hashes.md5.hexdigest(), hashes.sha256.hexdigest())


def same_image(image: Image, digests: Digests) -> None:
    """``ChecksumMismatch`` unless the bytes read are the image Glance describes."""
    if image.size is not None and digests.size != image.size:
        msg = f"image {image.id} is {image.size} bytes but {digests.size} arrived; read it again"
        raise ChecksumMismatch(msg, expected=str(image.size), actual=str(digests.size))
    if image.checksum and digests.md5 != image.checksum:
        msg = f"image {image.id} hashes to md5 {digests.md5}, not its checksum {image.checksum}"
        raise ChecksumMismatch(msg, expected=image.checksum, actual=digests.md5)


def upload_result(image_id: str, hashes: Hashes) -> UploadResult:
    md5 = hashes.md5.hexdigest()
    return UploadResult(
        container="",
        name=image_id,
        size=hashes.size,
        md5=md5,
        sha256=hashes.sha256.hexdigest(),
        etag=md5,
        segments=0,
        segments_uploaded=0,
        segments_skipped=0,
        manifest=False,
    )


def download_image(cloud: OpenStackCloud, image_id: str, dest: Path) -> DownloadResult:
    """``GET /file`` into ``dest`` via a temp file, checked against Glance's checksum."""
    part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        for trying in retrying(cloud.session.retry, f"download of image {image_id}"):
            with trying, cloud._image_stream(image_id) as stream, part.open("wb") as out:
                hashes = Hashes()
                for chunk in stream.chunks:
                    hashes.feed(chunk)
                    out.write(chunk)
                digests = digests_of(hashes)
                stream.verify(digests)
                part.replace(dest)
                return _downloaded(image_id, dest, digests)
    finally:
        part.unlink(missing_ok=True)
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover


def _downloaded(image_id: str, dest: Path, digests: Digests) -> DownloadResult:
    return DownloadResult(
        container="",
        name=image_id,
        path=dest,
        size=digests.size,
        md5=digests.md5,
        sha256=digests.sha256,
        etag=digests.md5,
        verified_by="expected_md5",
    )
