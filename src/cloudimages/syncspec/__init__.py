"""Golden images as code: the sync spec, how it is read, and what a sync would change.

Below the steps and free of Prefect: ``model`` is the spec (its JSON schema is
published as ``docs/sync-spec.schema.json``), ``loading`` reads a YAML file or
URL with every error at its line, ``planning`` works out what a target lacks
and what to change, and ``report`` holds the plan and outcome models the CLI
prints and the flow publishes.
"""

from .loading import SpecFile, load_spec, parse_spec
from .model import SyncSpec, schema_text

__all__ = ["SpecFile", "SyncSpec", "load_spec", "parse_spec", "schema_text"]
