"""The local Keystone v3: tokens for the directory, and who may do what with them.

Other services of the upstream-OpenStack regions (Glance, Swift) call ``validate`` in
process, as keystonemiddleware would over HTTP. Policies follow Keystone 30's secure-RBAC
defaults: a user validates, revokes and lists what is its own; an admin (system or
project) or the ``service`` role may do it for anyone.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from .auth import Authenticator
from .directory import Directory
from .errors import KeystoneError, forbidden, invalid_input, not_found, unauthorized
from .store import AppCredential, KeystoneStore, Token
from .views import OpenStackEndpoints, Views

_RESTRICTED = (
    "Using method 'application_credential' is not allowed for managing additional"
    " application credentials."
)


class Keystone:
    """Directory + token store + documents of one local cloud."""

    def __init__(
        self,
        directory: Directory,
        store: KeystoneStore,
        endpoints: list[OpenStackEndpoints],
        *,
        base_url: str,
        token_lifetime: float,
    ) -> None:
        self.directory = directory
        self.store = store
        self.base_url = base_url
        self.auth = Authenticator(directory, store, token_lifetime)
        self.views = Views(directory, endpoints, base_url)

    # tokens ----------------------------------------------------------------------------
    def validate(self, token_id: str | None) -> Token | None:
        """The live token with this id (not expired, not revoked), else None."""
        return self.store.token(token_id) if token_id else None

    def caller(self, token_id: str | None) -> Token:
        token = self.validate(token_id)
        if token is None:
            raise unauthorized()
        return token

    def is_admin(self, token: Token) -> bool:
        return "admin" in token.roles or "service" in token.roles

    def subject(self, caller: Token, subject_id: str | None, action: str) -> Token:
        """The token named by X-Subject-Token, if the caller may look at it."""
        subject = self.validate(subject_id) if subject_id else None
        if subject_id and subject is None:
            raise KeystoneError(404, "Failed to validate token")
        if subject is None or not (subject.user_id == caller.user_id or self.is_admin(caller)):
            raise forbidden(f"identity:{action}")
        return subject

    def token_doc(self, token: Token, *, catalog: bool = True) -> dict[str, Any]:
        cred = self.store.app_cred(token.app_cred_id) if token.app_cred_id else None
        return self.views.token(token, catalog=catalog, app_cred=cred[0] if cred else None)

    # application credentials -------------------------------------------------------------
    def _own(self, caller: Token, user_id: str, action: str) -> None:
        if caller.user_id != user_id:
            raise forbidden(f"identity:{action}")

    def create_app_cred(self, caller: Token, user_id: str, body: Any) -> dict[str, Any]:
        self._own(caller, user_id, "create_application_credential")
        if caller.app_cred_id is not None:
            raise forbidden(_RESTRICTED)
        request = body.get("application_credential") if isinstance(body, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("name"), str):
            reason = "'name' is a required property"
            raise invalid_input("application_credential", request, reason)
        if caller.project_id is None:
            raise KeystoneError(400, "An application credential needs a project-scoped token.")
        cred = AppCredential(
            id=uuid.uuid4().hex,
            user_id=user_id,
            project_id=caller.project_id,
            name=request["name"],
            description=_optional_str(request, "description"),
            roles=self._requested_roles(caller, request.get("roles")),
            expires_at=_expiry(request.get("expires_at")),
            unrestricted=request.get("unrestricted") is True,
        )
        secret = request.get("secret")
        if not isinstance(secret, str) or not secret:
            secret = secrets.token_urlsafe(64)
        if not self.store.add_app_cred(cred, secret):
            message = (
                "Conflict occurred attempting to store application_credential - Duplicate"
                f" entry found with name {cred.name}."
            )
            raise KeystoneError(409, message)
        return {"application_credential": self.views.app_cred(cred, secret)}

    def _requested_roles(self, caller: Token, requested: Any) -> list[str]:
        if requested is None:
            return list(caller.roles)
        if not isinstance(requested, list) or not all(isinstance(r, dict) for r in requested):
            raise invalid_input("roles", requested, "roles must be a list of {id} or {name}")
        by_id = {r.id: r.name for r in self.directory.roles.values()}
        names = [
            str(r["name"]) if "name" in r else by_id.get(str(r.get("id")), "") for r in requested
        ]
        if not names or any(n not in caller.roles for n in names):
            message = (
                "Invalid application credential: Cannot create an application credential"
                " with unassigned role"
            )
            raise KeystoneError(400, message)
        return list(dict.fromkeys(names))

    def list_app_creds(self, caller: Token, user_id: str, name: str | None) -> dict[str, Any]:
        self._own(caller, user_id, "list_application_credentials")
        creds = [c for c in self.store.app_creds_of(user_id) if name in (None, c.name)]
        return {
            "application_credentials": [self.views.app_cred(c) for c in creds],
            "links": {
                "next": None,
                "self": f"{self.base_url}/v3/users/{user_id}/application_credentials",
                "previous": None,
            },
        }

    def app_cred(self, caller: Token, user_id: str, cred_id: str) -> AppCredential:
        self._own(caller, user_id, "get_application_credential")
        found = self.store.app_cred(cred_id)
        if found is None or found[0].user_id != user_id:
            raise not_found("Application Credential", cred_id)
        return found[0]

    def delete_app_cred(self, caller: Token, user_id: str, cred_id: str) -> None:
        cred = self.app_cred(caller, user_id, cred_id)
        if caller.app_cred_id is not None:
            raise forbidden(_RESTRICTED)
        self.store.delete_app_cred(cred.id)

    # users and projects ---------------------------------------------------------------------
    def user_doc(self, caller: Token, user_id: str) -> dict[str, Any]:
        if caller.user_id != user_id and not self.is_admin(caller):
            raise forbidden("identity:get_user")
        user = self.directory.users.get(user_id)
        if user is None:
            raise not_found("user", user_id)
        return {
            "user": {
                "id": user.id,
                "name": user.name,
                "domain_id": user.domain.id,
                "enabled": True,
                "default_project_id": user.default_project_id,
                "password_expires_at": None,
                "options": {},
                "links": {"self": f"{self.base_url}/v3/users/{user.id}"},
            }
        }

    def projects_doc(self, user_id: str, path: str) -> dict[str, Any]:
        projects = self.directory.projects_of(user_id)
        return {
            "projects": [self.views.project(p) for p in projects],
            "links": {"next": None, "self": f"{self.base_url}{path}", "previous": None},
        }

    def project_doc(self, caller: Token, project_id: str) -> dict[str, Any]:
        mine = {p.id for p in self.directory.projects_of(caller.user_id)}
        if project_id not in mine and not self.is_admin(caller):
            raise forbidden("identity:get_project")
        project = self.directory.projects.get(project_id)
        if project is None:
            raise not_found("project", project_id)
        return {"project": self.views.project(project)}


def _optional_str(request: dict[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid_input(key, value, f"{value!r} is not of type 'string'")
    return value


def _expiry(value: Any) -> float | None:
    """``expires_at`` as Keystone takes it: ISO 8601, naive times are UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_input("expires_at", value, "not a valid ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
