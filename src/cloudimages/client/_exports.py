"""What a complete Cloud Images export looks like, checked from Swift's side.

An export writes a zero-byte DLO manifest ``<image id>.vhd`` whose
``X-Object-Manifest`` names the segments ``<image id>.vhd-00001``, ``-00002``…
in the same container. Complete means: the manifest is that DLO, the segments
are numbered without gaps, and their sizes add up to the manifest's length
(Swift keeps no md5 of a DLO, so this is as strong a check as it allows).
"""

from __future__ import annotations

from urllib.parse import unquote

from ..errors import ChecksumMismatch
from ._object_models import ObjectInfo
from .cloud import Exported


def export_object_name(image_id: str) -> str:
    """The manifest an export of ``image_id`` writes."""
    return f"{image_id}.vhd"


def verify_dlo_export(manifest: ObjectInfo, segments: list[ObjectInfo], *, where: str) -> Exported:
    """The export the manifest and its segments make; ``ChecksumMismatch`` if not whole."""
    name = manifest.name
    expected_prefix = f"{manifest.container}/{name}-"
    pointer = unquote(manifest.dlo_manifest or "").lstrip("/")
    if manifest.large_object != "dlo" or pointer != expected_prefix:
        msg = (
            f"{where} is not the export's DLO manifest (X-Object-Manifest {pointer!r}, expected"
            f" {expected_prefix!r}); delete it and export again."
        )
        raise ChecksumMismatch(msg, expected=expected_prefix, actual=pointer)
    names = sorted(s.name for s in segments)
    wanted = [f"{name}-{n:05d}" for n in range(1, len(names) + 1)]
    if not names or names != wanted:
        msg = f"the segments of {where} are missing or not numbered 00001…: {names[:5]}…"
        raise ChecksumMismatch(msg, expected=",".join(wanted[:3]), actual=",".join(names[:3]))
    total = sum(s.size for s in segments)
    if total != manifest.size:
        msg = (
            f"the {len(names)} segments of {where} hold {total} bytes but the manifest serves"
            f" {manifest.size}; delete the export and export again."
        )
        raise ChecksumMismatch(msg, expected=str(manifest.size), actual=str(total))
    return Exported(container=manifest.container, object=name, size=total, segments=len(names))
