"""Run import-image in a process of its own, so a test can kill it mid-way.

Usage: python _crash_import.py SOURCE ACCOUNT_BLOCK NAME SEGMENT_SIZE_MB
(PREFECT_API_URL must name the test harness's API, where the blocks are saved).
"""

from __future__ import annotations

import sys

from cloudimages.flows import import_image
from cloudimages.params import ImportRequest
from cloudimages.steps import set_testing

if __name__ == "__main__":
    set_testing(True)
    source, account, name, segment_mb = sys.argv[1:5]
    import_image(
        ImportRequest(source=source, account=account, name=name, segment_size_mb=int(segment_mb))
    )
