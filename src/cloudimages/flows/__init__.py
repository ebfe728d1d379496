"""Prefect flows of cloudimages: import, export, share and replicate images.

Parameters are block names and plain values, never secrets; each flow returns
a pydantic report (``--json`` prints it), stores a markdown artifact and emits
a ``cloudimages.image.*`` event when it is done. Importing this package imports
Prefect; the CLI imports it lazily.
"""

from .export_image import export_image
from .import_image import import_image
from .replicate_image import replicate_image
from .reports import (
    ExportReport,
    ImportReport,
    ReplicateReport,
    ShareEntry,
    ShareReport,
    StepTiming,
    TargetResult,
)
from .share_image import share_image

__all__ = [
    "ExportReport",
    "ImportReport",
    "ReplicateReport",
    "ShareEntry",
    "ShareReport",
    "StepTiming",
    "TargetResult",
    "export_image",
    "import_image",
    "replicate_image",
    "share_image",
]
