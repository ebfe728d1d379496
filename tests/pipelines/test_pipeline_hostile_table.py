"""Every input of the hostile corpus through the real import flow: outcome and what is left.

For each input: the flow's result (an image, or the error a user sees, exit code 1 from
the CLI), and what stays behind in the account (staged objects, images) and in the
work directory. A refused input leaves nothing. ``docs/reliability.md`` carries the
table; a test keeps it complete. ``CLOUDIMAGES_HOSTILE_TABLE=path`` writes the observed
rows (markdown) for the docs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pytest

from cloudimages.errors import CloudImagesError, NotFound
from cloudimages.steps.sources import work_dir
from tests.helpers.hostile_corpus import CASES, Case
from tests.pipelines.support import block, import_image

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
ROWS: dict[str, str] = {}


def staged_for(source: Path) -> list[str]:
    if not source.is_file():
        return []
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    names: list[str] = []
    with block("alice").objects_client() as files:
        for container in ("hostile-table", "hostile-table_segments"):
            with contextlib.suppress(NotFound):
                names += [o.name for o in files.list_objects(container, prefix=sha)]
    return names


def outcome_of(case: Case, tmp_path: Path) -> tuple[str, str, list[str]]:
    """(exit code, what the user sees, what is left) for one corpus input."""
    source = case.build(tmp_path)
    name = f"hostile-{case.id}"
    before = set(work_dir().iterdir()) if work_dir().exists() else set()
    claim = {"source_format": case.claimed_format} if case.claimed_format else {}
    try:
        report = import_image(str(source), "alice", name, container="hostile-table", **claim)
    except CloudImagesError as error:
        said = str(error).replace(f"{tmp_path}/", "").replace(str(tmp_path), "<dir>")
        first = said.split(". ")[0].replace("|", "\\|")
        code, said = "1", f"`{type(error).__name__}`: {first}"
    else:
        code, said = "0", f"imported as {report.disk_format}"
    left = [f"staged {n}" for n in staged_for(source)]
    images = list(block("alice").images_client().list_images(name=name))
    left += [f"image {i.id}" for i in images if code == "1"]
    after = set(work_dir().iterdir()) if work_dir().exists() else set()
    left += [f"work file {p.name}" for p in after - before]
    return code, said, left


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_input_is_refused_whole_or_imported_whole(case: Case, tmp_path: Path) -> None:
    """Nothing is left behind, whatever the input; a disclosure case is always refused."""
    code, said, left = outcome_of(case, tmp_path)
    ROWS[case.id] = f"| `{case.id}` | {code} | {said} | {', '.join(left) or 'nothing'} |"
    assert left == []
    if case.discloses:
        assert code == "1"


def test_the_docs_table_lists_every_input() -> None:
    """docs/reliability.md has a pipeline row for every corpus input (written by this test)."""
    target = os.environ.get("CLOUDIMAGES_HOSTILE_TABLE")
    if target and ROWS:
        Path(target).write_text("\n".join(ROWS[c.id] for c in CASES if c.id in ROWS) + "\n")
    section = DOCS.read_text().partition("## Hostile inputs through the pipeline")[2]
    missing = [c.id for c in CASES if f"| `{c.id}` |" not in section]
    assert missing == []
