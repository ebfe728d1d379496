"""Cross-origin requests, as Cloud Files documents them: CORS settings live on the container.

``X-Container-Meta-Access-Control-Allow-Origin`` (space-separated origins or ``*``),
``-Max-Age`` and ``-Expose-Headers`` govern the container and its objects.  A preflight
(``OPTIONS`` with ``Origin``) needs no token and answers 200 with the CORS headers or 401
when the origin or method is not allowed; ``OPTIONS`` without ``Origin`` just lists the
methods.  Actual requests from an allowed origin get ``Access-Control-Allow-Origin`` and
``-Expose-Headers`` (strict mode: nothing for an origin the container does not list).
"""

from __future__ import annotations

from starlette.responses import Response

from .http import swift_response
from .store import ObjectStore

ALLOWED = {
    "account": "HEAD, GET, POST, OPTIONS",
    "container": "HEAD, GET, PUT, POST, DELETE, OPTIONS",
    "object": "HEAD, GET, PUT, POST, DELETE, OPTIONS, COPY",
}
_META = "x-container-meta-access-control-"
_ALWAYS_EXPOSED = (
    *("cache-control", "content-language", "content-type", "expires", "last-modified"),
    *("pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id"),
)


def _settings(store: ObjectStore, account: str, container: str | None) -> dict[str, str]:
    record = store.get_container(account, container) if container else None
    if record is None:
        return {}
    return {k[len(_META) :]: v for k, v in record.meta.items() if k.startswith(_META)}


def _origin_allowed(cors: dict[str, str], origin: str) -> bool:
    allowed = set(cors.get("allow-origin", "").split())
    return origin in allowed or "*" in allowed


def preflight(
    store: ObjectStore, account: str, container: str | None, level: str, headers: object
) -> Response:
    """The answer to ``OPTIONS``: the methods, plus the CORS grant for a preflight."""
    methods = ALLOWED[level]
    get = headers.get  # type: ignore[attr-defined]
    out = {"Allow": methods}
    origin = get("origin")
    if not origin or level == "account":
        return swift_response(200, b"", out, content_type="text/html; charset=UTF-8")
    cors = _settings(store, account, container)
    requested = get("access-control-request-method")
    if not _origin_allowed(cors, origin) or requested not in methods.split(", "):
        return swift_response(401, b"", out, content_type="text/html; charset=UTF-8")
    star = cors.get("allow-origin", "").strip() == "*"
    out["Access-Control-Allow-Origin"] = "*" if star else origin
    vary = [] if star else ["Origin"]
    if cors.get("max-age") is not None:
        out["Access-Control-Max-Age"] = cors["max-age"]
    out["Access-Control-Allow-Methods"] = methods
    asked = [h.strip() for h in (get("access-control-request-headers") or "").split(",")]
    if any(asked):
        out["Access-Control-Allow-Headers"] = ", ".join(h for h in asked if h)
        vary.append("Access-Control-Request-Headers")
    if vary:
        out["Vary"] = ", ".join(vary)
    return swift_response(200, b"", out, content_type="text/html; charset=UTF-8")


def add_cors_headers(
    store: ObjectStore, account: str, container: str | None, origin: str, response: Response
) -> None:
    """Grant an actual request from an allowed origin (strict mode, as Cloud Files runs)."""
    cors = _settings(store, account, container)
    if not _origin_allowed(cors, origin):
        return
    present = {k.lower() for k in response.headers}
    if "access-control-expose-headers" not in present:
        exposed = set(_ALWAYS_EXPOSED)
        exposed.update(k for k in present if k.startswith(("x-container-meta", "x-object-meta")))
        exposed.update(h.lower() for h in cors.get("expose-headers", "").split())
        response.headers["Access-Control-Expose-Headers"] = ", ".join(sorted(exposed))
    if "access-control-allow-origin" not in present:
        star = cors.get("allow-origin", "").strip() == "*"
        response.headers["Access-Control-Allow-Origin"] = "*" if star else origin
        if not star:
            response.headers["Vary"] = "Origin"
