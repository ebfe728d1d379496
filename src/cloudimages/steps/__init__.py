"""Pipeline steps: Prefect tasks, each a thin wrapper around one or a few cloud calls.

Steps take plain values (account block names, regions, ids), resolve clouds in
one place (``clouds``), return small typed results and raise
``cloudimages.errors`` types. They never retry (the client does, once, under
the retry policy); ``set_testing(True)`` makes every retry wait and task poll fast.
``sequences`` holds the step sequences several flows share.
"""

from ..client import set_testing

__all__ = ["set_testing"]
