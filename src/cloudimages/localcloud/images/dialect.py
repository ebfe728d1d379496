"""The seam between Rackspace's Cloud Images and upstream Glance 33.

Both speak Glance's v2 API and share almost everything (records, members, tags,
JSON-patch, paging). Where they part ways, ``ImagesApi`` and the listing ask an
``ImagesDialect``: who may see an image, what a list returns, how an image and an error
look, which attributes a PATCH may touch, how data gets in. ``rackspace.RACKSPACE`` and
``localcloud.glance.UpstreamDialect`` are the two implementations; nothing else
branches on the dialect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Account
from .errors import ImagesError
from .query import Where
from .store import ImageRecord, ImageStore

if TYPE_CHECKING:
    from .api import ImagesApi


@dataclass(frozen=True)
class PatchRules:
    """What a JSON-patch may touch, and how the result is checked."""

    read_only: frozenset[str]
    reserved: frozenset[str]
    reserved_prefixes: tuple[str, ...]  # e.g. Glance's own os_glance_* bookkeeping
    base_attributes: frozenset[str]  # may be replaced, never removed
    known: frozenset[str]  # not counted as custom properties
    protected_prefixes: tuple[str, ...]  # custom properties only the provider may set
    allow_empty_pointer: bool  # "/" names the property "" (Glance 33) or is a 400 (Juno)
    validate: Callable[[dict[str, Any]], None]


class ImagesDialect(ABC):
    """What differs between the two image services; see the module docstring."""

    name: str
    schemas: dict[str, dict[str, Any]]
    patch_rules: PatchRules
    list_params: frozenset[str]  # list query parameters that are not property filters
    visibility_filters: tuple[str, ...]  # accepted values of ?visibility=
    lenient_member_bodies: bool  # member bodies parsed whatever their Content-Type

    @abstractmethod
    def can_see(self, store: ImageStore, record: ImageRecord, caller: Account) -> bool:
        """May the caller read this image by id?"""

    @abstractmethod
    def visible_where(self, store: ImageStore, caller: Account, params: dict[str, str]) -> Where:
        """Which images a list with these parameters starts from (before filters), as SQL."""

    @abstractmethod
    def view(self, record: ImageRecord) -> dict[str, Any]:
        """The image as the API shows it."""

    @abstractmethod
    def render(self, request: Request, error: ImagesError) -> Response:
        """An error in this service's wire shape."""

    @abstractmethod
    def data_routes(self, api: ImagesApi) -> list[Route]:
        """Routes that create images and move their data (or refuse to)."""

    def owns(self, record: ImageRecord, caller: Account) -> bool:
        """May the caller change this image (as its owner)?"""
        return record.owner == caller.tenant_id

    def authorize(self, caller: Account, action: str) -> None:  # noqa: B027 - optional hook
        """Raise Forbidden when the caller's roles do not allow ``action`` (policy names)."""

    @abstractmethod
    def check_members_allowed(self, record: ImageRecord) -> None:
        """Raise Forbidden when this image cannot have members."""

    @abstractmethod
    def guard_visibility(self, value: Any, doc: dict[str, Any], caller: Account) -> None:
        """Raise Forbidden when the caller may not set ``visibility`` to ``value``."""

    def sort_keys(self, params: dict[str, str]) -> list[tuple[str, str]] | None:
        """``[(key, dir)]`` from a ``sort=`` parameter, or None to use sort_key/sort_dir."""
        return None
