"""``import-image --web-download``: the target cloud fetches a URL source itself.

Nothing is downloaded here, so the safe format gate does not run here: the
cloud's own format inspection does (Glance 33 runs one on web-download). The
image is found again by the URL's sha256 and name, as a file source is by its
content's sha256.
"""

from __future__ import annotations

import hashlib

from ..client import ImportLimits, Staging
from ..errors import ConfigurationError
from ..params import ImportRequest
from ..reports import ImportReport, Stopwatch
from ..steps.catalog import SOURCE_NAME, find_image, update_image, verify_image
from ..steps.sequences import deadline_after
from ..steps.sources import is_url, source_name
from ..steps.transfers import discard_staged, find_import, import_url, wait_import

__all__ = ["SOURCE_URL_SHA256", "import_by_url"]

SOURCE_URL_SHA256 = "cloudimages.source_url_sha256"
_BY_EXTENSION = {"qcow2": "qcow2", "img": "qcow2", "raw": "raw", "vmdk": "vmdk", "iso": "iso"}


def import_by_url(
    request: ImportRequest, *, region: str, limits: ImportLimits, watch: Stopwatch
) -> ImportReport:
    """The image of a URL source, fetched by the cloud: found, waited for, or made."""
    fmt = _checked_format(request, region, limits)
    key = hashlib.sha256(request.source.encode()).hexdigest()
    wanted = {
        **request.properties,
        SOURCE_URL_SHA256: key,
        SOURCE_NAME: source_name(request.source),
    }
    account = request.account
    found = find_image(account, region, properties={SOURCE_URL_SHA256: key}, name=request.name)
    job = None
    if found is None:
        staging = Staging(container=request.container, name=f"url-{key}")
        job = find_import(account, region, staging, name=request.name) or import_url(
            account, region, staging, request.source, name=request.name, disk_format=fmt
        )
        deadline = deadline_after(request.task_timeout_minutes)
        done = wait_import(account, region, job, staging, name=request.name, deadline=deadline)
        assert done.image_id is not None
        update_image(account, region, done.image_id, properties=wanted, tags=request.tags)
        discard_staged(account, region, staging)
    image_id = found.id if found is not None else str(job.task_id if job else "")
    image = verify_image(account, region, image_id, name=request.name, properties=wanted)
    return ImportReport(
        image_id=image.id,
        name=request.name,
        account=account,
        region=region,
        source=request.source,
        sha256="",
        size=image.size or 0,
        virtual_size=image.virtual_size,
        checksum=image.checksum,
        skipped=found is not None,
        disk_format=fmt,
        task_id=job.task_id if job else None,
        import_attempts=job.created if job else 0,
        properties=wanted,
        tags=request.tags,
        duration_seconds=watch.elapsed,
        steps=watch.steps,
    )


def _checked_format(request: ImportRequest, region: str, limits: ImportLimits) -> str:
    """The format the cloud is told the URL holds; refuse what cannot work, before anything."""
    if not is_url(request.source):
        msg = f"--web-download needs an http(s) URL source, not {request.source!r}"
        raise ConfigurationError(msg)
    if not limits.fetches_urls:
        msg = (
            f"{request.account} ({region}) cannot fetch a URL itself (its image service has no"
            " web-download import): import without --web-download; the URL is then"
            " downloaded and checked here"
        )
        raise ConfigurationError(msg)
    extension = source_name(request.source).rpartition(".")[2]
    fmt = request.disk_format or _BY_EXTENSION.get(extension)
    if fmt is None or fmt not in limits.disk_formats:
        msg = (
            f"the cloud fetches {request.source} itself and must be told its format: give"
            f" --disk-format, one of {', '.join(limits.disk_formats)}"
        )
        raise ConfigurationError(msg)
    return fmt
