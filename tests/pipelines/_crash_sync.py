"""Run sync-images (apply) in a process of its own, so a test can kill it at any step.

Usage: python _crash_sync.py SPEC SEGMENT_SIZE_MB
(PREFECT_API_URL must name the test harness's API, where the blocks are saved).
"""

from __future__ import annotations

import sys

from cloudimages.flows import sync_images
from cloudimages.params import SyncRequest
from cloudimages.steps import set_testing

if __name__ == "__main__":
    set_testing(True)
    spec, segment_mb = sys.argv[1:3]
    sync_images(SyncRequest(spec=spec, mode="apply", segment_size_mb=int(segment_mb)))
