"""Prefect tasks of cloudimages: each one step, a thin wrapper around one client call.

Tasks take an account block (which hands out clients) and plain values, return
small typed results, raise ``cloudimages.errors`` types, and retry only
transient failures (see ``_retry``). ``set_testing(True)`` zeroes retry waits.
"""

from ._retry import is_testing, retry_if_transient, set_testing, step

__all__ = ["is_testing", "retry_if_transient", "set_testing", "step"]
