"""Sessions and clouds shared by every block object of one account, in one process.

Parallel tasks of a flow load the same block several times; they share one
authenticated session (a token is fetched once and refreshed once) and one
cloud (one pool of connections). The key holds a fingerprint of the secret,
never the secret, so changed credentials get a session of their own.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pydantic import SecretStr

__all__ = ["clear_sessions", "fingerprint", "shared"]

T = TypeVar("T")
_SHARED: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def fingerprint(secret: SecretStr | None) -> str:
    """A stand-in for a secret in cache keys (never the secret itself)."""
    value = secret.get_secret_value() if secret is not None else ""
    return hashlib.sha256(value.encode()).hexdigest()


def shared(key: Hashable, make: Callable[[], T]) -> T:
    """The object cached under ``key``, made (once) when missing."""
    with _LOCK:
        if key in _SHARED:
            found: T = _SHARED[key]
            return found
    made = make()  # outside the lock: making a cloud may log in
    with _LOCK:
        kept: T = _SHARED.setdefault(key, made)
    if kept is not made:
        _close(made)
    return kept


def clear_sessions() -> None:
    """Close and forget every shared session and cloud (tests, or after a key changes)."""
    with _LOCK:
        kept = list(_SHARED.values())
        _SHARED.clear()
    for item in kept:
        _close(item)


def _close(item: Any) -> None:
    close = getattr(item, "close", None)
    if callable(close):
        close()
