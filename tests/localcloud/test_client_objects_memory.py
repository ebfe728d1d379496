"""A multi-GiB upload keeps memory at a few transfer buffers, not the file or segment size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudimages.localcloud import LocalCloud
from tests.helpers.objects import empty_and_delete
from tests.helpers.tokens import IdentityTokenSource

GiB = 1024**3
FILE_SIZE = 3 * GiB
RSS_LIMIT = 160 * 1024**2

# Runs in a fresh interpreter; the peak is its VmHWM, not ru_maxrss, which a process
# inherits from its parent's high-water mark at exec (pytest's, hundreds of MiB late in a run).
UPLOAD_SCRIPT = """
import json, sys
from cloudimages.client.objects import ObjectsClient
from tests.helpers.tokens import IdentityTokenSource

identity_url, path, container = sys.argv[1:4]
source = IdentityTokenSource(identity_url, "alice", "alice-api-key")
with ObjectsClient(source, region="DFW") as files:
    result = files.upload_file(path, container, "sparse.img")
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
peak = int(hwm.split()[1]) * 1024
print(json.dumps({"peak_rss": peak, "result": result.model_dump()}))
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_uploading_a_3_gib_sparse_file_stays_far_below_its_size(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    """Peak RSS of a 3 GiB upload (64 MiB segments, 4 workers) stays under 160 MiB."""
    path = tmp_path / "sparse.img"
    with path.open("wb") as f:
        f.truncate(FILE_SIZE)
    from cloudimages.client.objects import ObjectsClient

    files = ObjectsClient(IdentityTokenSource(cloud.identity_url, "alice", "alice-api-key"))
    files.ensure_container("memory")
    try:
        done = subprocess.run(
            [sys.executable, "-c", UPLOAD_SCRIPT, cloud.identity_url, str(path), "memory"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout.strip().splitlines()[-1])
        peak, result = report["peak_rss"], report["result"]
        print(f"\npeak RSS uploading {FILE_SIZE / GiB:.0f} GiB: {peak / 1024**2:.0f} MiB")
        assert (result["size"], result["manifest"], result["segments"]) == (FILE_SIZE, True, 48)
        assert peak < RSS_LIMIT
    finally:
        files.delete_object("memory", "sparse.img", missing_ok=True)
        empty_and_delete(files, "memory")
        empty_and_delete(files, "memory_segments")
        files.close()
