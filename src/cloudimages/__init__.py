"""cloudimages: move virtual-machine images into, out of and between cloud accounts."""

from .errors import (
    ApiError,
    BadRequest,
    ChecksumMismatch,
    CloudImagesError,
    ConfigurationError,
    Conflict,
    DiskImageError,
    Forbidden,
    NotFound,
    OverLimit,
    QemuImgError,
    RateLimited,
    ServiceUnavailable,
    TaskFailed,
    TaskTimedOut,
    TransportError,
    Unauthorized,
)

__all__ = [
    "ApiError",
    "BadRequest",
    "ChecksumMismatch",
    "CloudImagesError",
    "ConfigurationError",
    "Conflict",
    "DiskImageError",
    "Forbidden",
    "NotFound",
    "OverLimit",
    "QemuImgError",
    "RateLimited",
    "ServiceUnavailable",
    "TaskFailed",
    "TaskTimedOut",
    "TransportError",
    "Unauthorized",
]
__version__ = "0.1.0"
