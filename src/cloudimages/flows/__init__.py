"""Prefect flows of cloudimages, one module per pipeline: import, export, share, replicate, sync.

Each flow takes one request model (``cloudimages.params``): block names and
plain values, never secrets. It returns a report (``cloudimages.reports``;
``--json`` prints it), stores a markdown artifact and emits a
``cloudimages.image.*`` event when it is done. No flow imports another:
sequences they share are steps (``cloudimages.steps.sequences``,
``steps.replication``). Importing this package imports Prefect.
"""

from .export_image import export_image
from .import_image import import_image
from .replicate_image import replicate_image
from .replicate_tagged import replicate_tagged
from .share_image import share_image
from .sync_images import sync_images

__all__ = [
    "export_image",
    "import_image",
    "replicate_image",
    "replicate_tagged",
    "share_image",
    "sync_images",
]
