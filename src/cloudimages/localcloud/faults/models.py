"""What a fault is: an HTTP rule or a task outcome, validated the same way from every door.

The start-up spec (``--faults``, ``CLOUDIMAGES_LOCALCLOUD_FAULTS``), its JSON
form and the admin API all build these models, so a bad service, method, rate
or code is refused with the same words wherever it comes from.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DAY = 86400.0
HTTP_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "COPY", "OPTIONS")
_SERVICE = re.compile(r"identity|\*|(?:images|files|\*):[^:\s]+")
SERVICES = "identity, *, images:REGION, files:REGION or *:REGION (REGION may be a glob)"


class _Counted(BaseModel):
    """What rules and task outcomes share: an id, a chance and a budget."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description="Assigned by the injector.")
    rate: float = Field(default=1.0, ge=0, le=1, description="Probability of firing.")
    times: int | None = Field(default=None, ge=1, description="Firings left; None: no limit.")
    fired: int = Field(default=0, description="How often it fired.")


class FaultRule(_Counted):
    """Which HTTP requests fail, how, how often and how many times."""

    service: str = Field(default="*", description="Glob over identity, images:DFW, files:IAD.")
    method: str = Field(default="*", description="Glob over the HTTP method.")
    path: str = Field(default="*", description="Glob over the path, or re:REGEX (full match).")
    action: Literal["status", "reset", "latency", "truncate"] = "status"
    status: int = Field(default=503, ge=400, le=599, description="Status of a status fault.")
    retry_after: float | None = Field(default=None, ge=0, le=_DAY, description="Retry-After.")
    delay: float = Field(default=0.0, ge=0, le=_DAY, description="Seconds to wait first.")

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str) -> str:
        if _SERVICE.fullmatch(value) is None:
            msg = f"unknown service {value!r}; expected {SERVICES}"
            raise ValueError(msg)
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if not any(fnmatchcase(known, value.upper()) for known in HTTP_METHODS):
            msg = f"unknown method {value!r}; expected * or one of {', '.join(HTTP_METHODS)}"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.action == "latency" and self.delay <= 0:
            msg = "a latency rule needs delay > 0 (the seconds to add)"
            raise ValueError(msg)
        try:
            re.compile(self.path[3:] if self.path.startswith("re:") else "")
        except re.error as err:
            msg = f"path regex {self.path[3:]!r} does not compile: {err}"
            raise ValueError(msg) from None
        return self

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this rule, unless exhausted, applies to the request."""
        if self.times == 0 or not fnmatchcase(service, self.service):
            return False
        if not fnmatchcase(method.upper(), self.method.upper()):
            return False
        if self.path.startswith("re:"):
            return re.fullmatch(self.path[3:], path) is not None
        return fnmatchcase(path, self.path)


class TaskOutcome(_Counted):
    """How an import or export task ends, instead of succeeding."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    task_type: Literal["import", "export", "*"] = "*"
    outcome: Literal["failure", "stuck"] = "failure"
    code: str | None = Field(
        default=None, pattern=r"^\d{3}$", description='Failure code, three digits, e.g. "396".'
    )
    message: str | None = Field(default=None, description="Failure message.")

    @model_validator(mode="after")
    def _fits_the_outcome(self) -> TaskOutcome:
        if self.outcome == "failure" and not self.code:
            msg = 'a failure outcome needs a code, e.g. "396"'
            raise ValueError(msg)
        if self.outcome == "stuck" and (self.code or self.message):
            msg = "a stuck outcome takes no code or message (only failures have them)"
            raise ValueError(msg)
        return self
