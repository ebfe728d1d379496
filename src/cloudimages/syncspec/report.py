"""What a sync would change (the plan) and what it did (the same rows, with outcomes).

One row per image × target; each row lists the drift found and the operations
that make the target as the spec says. ``apply`` runs the operations in
order and records each one's status, so the plan and the outcome read alike
(``--json``, the CLI table, the markdown artifact).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Op", "OpKind", "OpStatus", "PlanRow", "SyncReport"]

OpKind = Literal["create", "update", "share", "accept", "unshare", "hide", "delete"]
OpStatus = Literal["planned", "done", "skipped", "failed", "not run"]
#: What each operation is called in a row's summary.
_WORDS: dict[str, str] = {
    "create": "create",
    "update": "update",
    "share": "share",
    "accept": "share",
    "unshare": "unshare",
    "hide": "retire",
    "delete": "delete",
}


class Op(BaseModel):
    """One change to one image (``image_id`` is None until a create made it)."""

    kind: OpKind
    version: str
    image_id: str | None = None
    detail: str = Field(default="", description="What changes, in words.")
    changes: dict[str, Any] = Field(default_factory=dict, description="Fields to set.")
    add_tags: list[str] = Field(default_factory=list)
    member_id: str | None = None
    consumer: str | None = Field(default=None, description="The block that accepts (accept).")
    retire: bool = Field(default=False, description="It retires a version beyond retention.")
    needs_prune: bool = False
    status: OpStatus = "planned"
    message: str = ""

    def runs(self, *, prune: bool) -> bool:
        """Whether ``apply`` (with or without ``--prune``) carries it out."""
        return prune or not self.needs_prune


class PlanRow(BaseModel):
    """One image in one target: the drift found and the operations planned or done."""

    image: str
    version: str | None = Field(description="The newest declared version; None: not in spec.")
    account: str
    region: str
    image_id: str | None = Field(default=None, description="That version's image, if any.")
    drift: list[str] = Field(default_factory=list)
    ops: list[Op] = Field(default_factory=list)
    rotate: bool = Field(default=False, description="A new version replaces older ones.")

    @property
    def target(self) -> str:
        return f"{self.account}/{self.region}"

    def changes(self, *, prune: bool) -> list[Op]:
        return [op for op in self.ops if op.runs(prune=prune)]

    def actions(self, *, prune: bool) -> list[str]:
        """``create, share`` / ``rotate`` / ``delete (needs --prune)`` / ``nothing``."""
        words: list[str] = []
        for op in self.ops:
            word = "retire" if op.retire and op.kind == "unshare" else _WORDS[op.kind]
            word = "rotate" if word == "create" and self.rotate else word
            if not op.runs(prune=prune):
                word = f"{word} (needs --prune)"
            if word not in words:
                words.append(word)
        return words or ["nothing"]

    def failed(self) -> list[Op]:
        return [op for op in self.ops if op.status == "failed"]


class SyncReport(BaseModel):
    """The outcome of ``sync-images``: the plan, and in apply mode what each operation did."""

    catalog: str
    spec: str = Field(description="The spec's path or URL.")
    mode: Literal["plan", "apply"]
    prune: bool
    rows: list[PlanRow]
    changes: int = Field(description="Operations apply carries out (plan) or carried out.")
    failed: int = 0
    duration_seconds: float = 0.0

    @property
    def has_changes(self) -> bool:
        return self.changes > 0

    def table_rows(self) -> list[dict[str, Any]]:
        """One flat record per row (the CLI table, the table artifact)."""
        return [
            {
                "image": row.image,
                "version": row.version or "(not in spec)",
                "target": row.target,
                "actions": ", ".join(row.actions(prune=self.prune)),
                **({"status": _row_status(row)} if self.mode == "apply" else {}),
                "drift": "; ".join(row.drift) or "none",
                "image id": row.image_id or "",
            }
            for row in self.rows
        ]

    def to_markdown(self) -> str:
        verb = "would change" if self.mode == "plan" else "changed"
        lines = [
            f"# Sync of catalogue `{self.catalog}` ({self.mode})",
            "",
            f"Spec: {self.spec}. {self.changes} operation(s) {verb}"
            + (f", {self.failed} failed" if self.failed else "")
            + f"; {len(self.rows)} image × target row(s). Duration: {self.duration_seconds:.2f} s.",
            "",
            "| image | version | target | actions |"
            + (" status |" if self.mode == "apply" else "")
            + " drift | image id |",
            "|---|---|---|---|---|---|" + ("---|" if self.mode == "apply" else ""),
        ]
        for record in self.table_rows():
            cells = [str(v).replace("|", "\\|") for v in record.values()]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join([*lines, ""])


def _row_status(row: PlanRow) -> str:
    if row.failed():
        return "failed: " + "; ".join(op.message for op in row.failed())
    if any(op.status == "done" for op in row.ops):
        return "changed"
    return "in sync" if not row.ops else "unchanged"
