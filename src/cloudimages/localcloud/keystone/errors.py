"""Keystone's error documents: ``{"error": {"code", "message", "title"}}``.

Handlers raise ``KeystoneError``; ``response`` is the one place that renders it. A 401
carries ``WWW-Authenticate: Keystone uri="<base>/v3"`` as Keystone sends it, which is
how clients and keystonemiddleware find the identity service.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
}
_CLIENT_ERROR = (
    " The server could not comply with the request since it is either malformed or otherwise"
    " incorrect. The client is assumed to be in error."
)
UNAUTHENTICATED = "The request you have made requires authentication."


class KeystoneError(Exception):
    """An error Keystone answers with; ``extra`` lands beside code/message/title."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self, base_url: str) -> JSONResponse:
        title = _TITLES.get(self.status, "Error")
        error = {"code": self.status, **self.extra, "message": self.message, "title": title}
        headers = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = f'Keystone uri="{base_url}/v3"'
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


def unauthorized(message: str = UNAUTHENTICATED, **extra: object) -> KeystoneError:
    return KeystoneError(401, message, **extra)


def expecting(attribute: str, target: str) -> KeystoneError:
    """Keystone's 400 for a missing or unusable part of a request body."""
    return KeystoneError(400, f"Expecting to find {attribute} in {target}.{_CLIENT_ERROR}")


def forbidden(action: str) -> KeystoneError:
    return KeystoneError(403, f"You are not authorized to perform the requested action: {action}.")


def not_found(kind: str, ident: str) -> KeystoneError:
    return KeystoneError(404, f"Could not find {kind}: {ident}.")


def invalid_input(attribute: str, value: object, reason: str) -> KeystoneError:
    return KeystoneError(
        400, f"Invalid input for field/attribute {attribute}. Value: {value}. {reason}"
    )
