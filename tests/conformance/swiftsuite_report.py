"""Compare Swift's functional suite on real Swift and on the local cloud, and write it down.

A test *applies* when it passes on real Swift and no entry of
``swiftsuite_differences.EXPECTED`` excuses it; the local cloud's pass rate is the share of
applicable tests that pass on it too.  The report is written to ``docs/`` by the run.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from swiftsuite import OUTCOMES, Result, per_file
from swiftsuite_differences import EXPECTED, Excuse

REPORT = Path(__file__).resolve().parents[2] / "docs" / "swift-suite-results.md"


@dataclass
class Comparison:
    """Per-test outcomes on both stores, and what follows from them."""

    swift: dict[str, Result]
    local: dict[str, Result]
    excuses: tuple[Excuse, ...] = EXPECTED
    excused: dict[str, Excuse] = field(default_factory=dict)
    applicable: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for test_id, result in sorted(self.swift.items()):
            if result.outcome != "passed":
                continue
            excuse = self.excuse_for(test_id)
            if excuse is not None:
                self.excused[test_id] = excuse
            else:
                self.applicable.append(test_id)

    def excuse_for(self, test_id: str) -> Excuse | None:
        matches = (e for e in self.excuses if any(fnmatch.fnmatchcase(test_id, t) for t in e.tests))
        return next(matches, None)

    @property
    def local_passes(self) -> list[str]:
        return [t for t in self.applicable if self._local(t) == "passed"]

    @property
    def local_misses(self) -> list[str]:
        """Applicable tests that do not pass on the local cloud."""
        return [t for t in self.applicable if self._local(t) != "passed"]

    @property
    def pass_rate(self) -> float:
        return len(self.local_passes) / len(self.applicable) if self.applicable else 0.0

    @property
    def local_setup_errors(self) -> list[str]:
        """Tests whose class or module setup failed on the local cloud."""
        return [
            t
            for t, r in sorted(self.local.items())
            if r.outcome == "error" and "setup" in r.message
        ]

    @property
    def unused_excuses(self) -> list[Excuse]:
        """Entries that excuse no test passing on real Swift: stale, or mistyped."""
        used = {id(e) for e in self.excused.values()}
        return [e for e in self.excuses if id(e) not in used]

    def _local(self, test_id: str) -> str:
        result = self.local.get(test_id)
        return result.outcome if result else "missing"


def render(comparison: Comparison) -> str:
    """The markdown report: totals, per-file counts on both stores, excuses, misses."""
    c = comparison
    lines = [
        "# Swift's functional test suite: real Swift 2.38.3 vs the local cloud",
        "",
        "Written by `tests/conformance/test_swift_suite.py` on every full test run (do not edit).",
        "The suite is `test/functional` of the Swift 2.38.3 sdist (without `s3api`), run by",
        "pytest with `auth_version = 1` (tempauth) against real Swift and `auth_version = 2`",
        "(Identity v2.0) against the local cloud. A test *applies* when it passes on real Swift",
        "and is not excused in `tests/conformance/swiftsuite_differences.py`.",
        "",
        f"- applicable tests: **{len(c.applicable)}**; passing on the local cloud:"
        f" **{len(c.local_passes)}** (**{c.pass_rate:.1%}**)",
        f"- passing on real Swift but excused (expected differences): {len(c.excused)}",
        f"- local-cloud setup errors: {len(c.local_setup_errors)}",
        "",
        "## Per file",
        "",
        "| file | Swift passed | Swift failed | Swift error | Swift skipped "
        "| local passed | local failed | local error | local skipped | applicable "
        "| applicable passing locally |",
        "|---|" + "---:|" * 10,
    ]
    swift_files, local_files = per_file(c.swift), per_file(c.local)
    applicable = Counter(t.split("::", 1)[0] for t in c.applicable)
    passing = Counter(t.split("::", 1)[0] for t in c.local_passes)
    totals: Counter[str] = Counter()
    for file in sorted(swift_files.keys() | local_files.keys()):
        row = [swift_files.get(file, Counter())[o] for o in OUTCOMES]
        row += [local_files.get(file, Counter())[o] for o in OUTCOMES]
        row += [applicable[file], passing[file]]
        totals.update({str(i): v for i, v in enumerate(row)})
        lines.append(f"| `{file}` | " + " | ".join(str(v) for v in row) + " |")
    lines.append("| **total** | " + " | ".join(str(totals[str(i)]) for i in range(10)) + " |")
    lines += ["", "## Excused: pass on real Swift, expected to differ on Cloud Files", ""]
    lines += ["| tests | local outcome | reason | source |", "|---|---|---|---|"]
    for excuse in c.excuses:
        tests = [t for t, e in c.excused.items() if e is excuse]
        outcomes = Counter(c._local(t) for t in tests)
        shown = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none run"
        names = "<br>".join(f"`{t}`" for t in excuse.tests)
        lines.append(f"| {names} ({len(tests)}) | {shown} | {excuse.reason} | {excuse.source} |")
    lines += ["", "## Applicable tests that do not pass on the local cloud", ""]
    misses = c.local_misses
    lines += [
        f"- `{t}`: {c._local(t)} {c.local[t].message if t in c.local else ''}" for t in misses
    ]
    if not misses:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def write_report(comparison: Comparison, path: Path = REPORT) -> Path:
    path.write_text(render(comparison))
    return path
