"""Cloud Images errors, rendered the way Glance's WSGI stack renders them.

Handlers raise ``ImagesError`` subclasses; ``render`` is the one place that
turns them into a status and a body: JSON ``{"message", "code", "title"}``
when the client accepts JSON, plain text otherwise, as WebOb does for Glance.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Request Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ImagesError(Exception):
    status = 500

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(ImagesError):
    status = 400


class Unauthorized(ImagesError):
    status = 401


class Forbidden(ImagesError):
    status = 403


class NotFound(ImagesError):
    status = 404


class MethodNotAllowed(ImagesError):
    status = 405


class Conflict(ImagesError):
    status = 409


class OverLimit(ImagesError):
    status = 413


class UnsupportedMediaType(ImagesError):
    status = 415


def render(request: Request, error: ImagesError) -> Response:
    title = TITLES.get(error.status, "Error")
    code = f"{error.status} {title}"
    if "json" in request.headers.get("accept", ""):
        body = {"message": f"{error.message}<br /><br />\n\n\n", "code": code, "title": title}
        return JSONResponse(body, status_code=error.status, headers=error.headers)
    text = f"{code}\n\n{error.message}\n\n   "
    return PlainTextResponse(text, status_code=error.status, headers=error.headers)
