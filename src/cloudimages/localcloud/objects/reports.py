"""The report body Swift's bulk operations and SLO heartbeats answer with.

One shape for bulk delete, archive extraction, SLO manifest deletes and heartbeating
manifest uploads: keys such as ``Response Status`` and ``Number Deleted`` plus a list of
``[name, status]`` errors, as JSON, XML or ``key: value`` lines, after the client's Accept.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

FORMATS = ("application/json", "application/xml", "text/xml", "text/plain")


def report_format(accept: str | None) -> str:
    """The first of JSON, XML or plain text the Accept header names; plain text otherwise."""
    for part in (accept or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in FORMATS:
            return media
    return "text/plain"


def report_body(media: str, data: dict[str, Any], errors: list[list[str]], root_tag: str) -> bytes:
    """Render a report; ``errors`` are ``[quoted name, status]`` pairs."""
    if media == "application/json":
        return json.dumps({**data, "Errors": errors}).encode("ascii")
    if media.endswith("/xml"):
        out = [f"<{root_tag}>\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(data[key]))}</{tag}>\n")
        out.append("<errors>\n")
        out += [
            f"<object><name>{escape(n)}</name><status>{escape(s)}</status></object>\n"
            for n, s in errors
        ]
        out.append(f"</errors>\n</{root_tag}>\n")
        return "".join(out).encode("utf-8")
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines += [f"{name}, {status}\n" for name, status in errors]
    return "".join(lines).encode("utf-8")
