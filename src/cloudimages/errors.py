"""The one exception hierarchy of cloudimages.

Every failure a user can meet is one of these, with a message that says what
failed, on what, and what to do next. Nothing here imports from the package,
so the client, the qemu-img wrapper and the pipelines can all raise from it.

    CloudImagesError
    ├── TransportError            the network failed before an answer came
    ├── ApiError                  the service answered with an error status
    │   ├── BadRequest            400: the request was malformed
    │   ├── Unauthorized          401: credentials or token refused
    │   ├── Forbidden             403: the account may not do this
    │   ├── NotFound              404: absent, or not visible to this account
    │   ├── Conflict              409: the resource is not in the needed state
    │   ├── OverLimit             413 without Retry-After: a quota or size limit
    │   ├── RateLimited           429, or 413 with Retry-After: slow down
    │   └── ServiceUnavailable    5xx: the service failed; usually transient
    ├── TaskFailed                an import/export task ended in failure
    ├── TaskTimedOut              a task did not finish before its deadline
    ├── ChecksumMismatch          bytes moved do not hash to what was expected
    ├── DiskImageError            a disk image is unusable for what was asked
    │   ├── UnsafeDiskImage       it names files outside itself, or fails a safety check
    │   ├── DiskFormatMismatch    its bytes are another format than the one claimed
    │   ├── DiskImageTooLarge     its virtual or file size is over the limit
    │   ├── UnsupportedDiskFormat a format recognised but not importable (ISO, LUKS…)
    │   └── QemuImgError          qemu-img failed, or is missing
    └── ConfigurationError        settings or credentials are missing or invalid
"""

from __future__ import annotations

from typing import Any, Literal


class CloudImagesError(Exception):
    """Base of every error cloudimages raises on purpose."""


class TransportError(CloudImagesError):
    """The request never got an answer: connection refused, reset or timed out."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ApiError(CloudImagesError):
    """The service answered with an error status.

    Carries the status, the request line and the service's request id so a
    support ticket can name the exact call.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body = body


class BadRequest(ApiError):
    """400: the service could not accept the request as sent."""


class Unauthorized(ApiError):
    """401: the credentials or the token were refused."""


class Forbidden(ApiError):
    """403: the account is not allowed to do this."""


class NotFound(ApiError):
    """404: the resource does not exist or this account cannot see it."""


class Conflict(ApiError):
    """409: the resource exists already, or is not in the state the call needs."""


class OverLimit(ApiError):
    """413 without Retry-After: a quota (members, tags, properties) or size limit was hit."""


class RateLimited(ApiError):
    """429, or 413 with Retry-After: the service asks to slow down."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    """5xx: the service failed; retrying later usually works."""


class TaskFailed(CloudImagesError):
    """An import or export task ended in ``failure``."""

    def __init__(self, message: str, *, task_id: str, code: str | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.code = code


class TaskTimedOut(CloudImagesError):
    """A task was still running when its deadline passed."""

    def __init__(self, message: str, *, task_id: str, status: str) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class ChecksumMismatch(CloudImagesError):
    """Bytes that were moved do not hash to the value that was expected."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class DiskImageError(CloudImagesError):
    """A disk image cannot be used for what was asked (wrong format, corrupt, too large)."""


class UnsafeDiskImage(DiskImageError):
    """A disk image that qemu-img must not open: it would read other files into it.

    ``references`` are the outside files it names (backing file, data file,
    extents, parent), as far as they could be read; ``checks`` the format
    inspector's safety checks that failed.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        format: str,
        references: tuple[str, ...] = (),
        checks: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.path = path
        self.format = format
        self.references = references
        self.checks = checks


class DiskFormatMismatch(DiskImageError):
    """The bytes are one format, the user or the file name claimed another."""

    def __init__(self, message: str, *, path: str, detected: str, claimed: str) -> None:
        super().__init__(message)
        self.path = path
        self.detected = detected
        self.claimed = claimed


class DiskImageTooLarge(DiskImageError):
    """The virtual size or the file size is over the limit of where it is going."""

    def __init__(
        self, message: str, *, path: str, measure: Literal["virtual", "file"], size: int, limit: int
    ) -> None:
        super().__init__(message)
        self.path = path
        self.measure = measure
        self.size = size
        self.limit = limit


class UnsupportedDiskFormat(DiskImageError):
    """A format that was recognised but cannot be imported (ISO, LUKS, QED, gzip…)."""

    def __init__(self, message: str, *, path: str, format: str) -> None:
        super().__init__(message)
        self.path = path
        self.format = format


class QemuImgError(DiskImageError):
    """qemu-img is missing, or it exited with an error."""

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None = None,
        stderr: str = "",
        command: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.command = command


class ConfigurationError(CloudImagesError):
    """Settings or credentials are missing or invalid."""
