"""``POST /v3/auth/tokens``: read the auth body, check the credentials, decide the scope.

Methods: ``password`` (user by id, or by name plus domain id or name), ``token``
(re-scope an existing token) and ``application_credential`` (by id, or by name plus
its user; the scope is the credential's own). Every failure to identify or scope is
Keystone's 401 without detail; only malformed bodies get a 400 saying what is missing.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .directory import Directory, Project, User, effective_roles
from .errors import KeystoneError, expecting, not_found, unauthorized
from .store import KeystoneStore, Token, secret_matches

METHODS = ("password", "token", "application_credential")


def parse_auth(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The ``auth`` object of a request body, or Keystone's 400."""
    if not body.strip():
        raise expecting("auth", "request body")
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media != "application/json":
        raise expecting("application/json", "Content-Type header")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise expecting("valid JSON", "request body") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("auth"), dict):
        raise expecting("auth", "request body")
    auth: dict[str, Any] = doc["auth"]
    identity = auth.get("identity")
    if not isinstance(identity, dict):
        raise KeystoneError(400, "'identity' is a required property")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise KeystoneError(400, "'methods' is a required property")
    for method in methods:
        if not isinstance(identity.get(method), dict):
            raise expecting(method, "identity")
    return auth


class Authenticator:
    """Turns credentials into tokens for one directory."""

    def __init__(self, directory: Directory, store: KeystoneStore, lifetime: float) -> None:
        self.directory = directory
        self.store = store
        self.lifetime = lifetime

    def authenticate(self, auth: dict[str, Any]) -> Token:
        identity = auth["identity"]
        methods: list[str] = list(identity["methods"])
        if any(m not in METHODS for m in methods):
            raise unauthorized()
        scope = auth.get("scope")
        if "application_credential" in methods:
            return self._app_cred_token(identity["application_credential"], scope)
        if "token" in methods:
            return self._rescope(identity["token"], scope)
        user = self._password_user(identity["password"])
        return self._scoped(user, scope, ["password"], [])

    # identities ------------------------------------------------------------------------
    def _password_user(self, data: dict[str, Any]) -> User:
        user = self._find_user(data.get("user"), "password")
        password = data["user"].get("password")
        if not isinstance(password, str) or not secrets.compare_digest(
            password.encode(), user.password.encode()
        ):
            raise unauthorized()
        return user

    def _find_user(self, ref: Any, where: str) -> User:
        """A user referenced by id, or by name and a domain given by id or name."""
        if not isinstance(ref, dict):
            raise expecting("user", where)
        if "id" in ref:
            found = self.directory.users.get(str(ref["id"]))
        else:
            if not isinstance(ref.get("name"), str):
                raise expecting("name", "user")
            domain = self._domain_id(ref.get("domain"), "user")
            found = self.directory.user_by_name(ref["name"], domain) if domain else None
        if found is None:
            raise unauthorized()
        return found

    def _domain_id(self, ref: Any, where: str) -> str | None:
        """The id of a domain given as ``{"id"}`` or ``{"name"}``; None if unknown."""
        if not isinstance(ref, dict) or not ({"id", "name"} & set(ref)):
            raise expecting("domain", where)
        if "id" in ref:
            return str(ref["id"]) if str(ref["id"]) in self.directory.domains else None
        domain = self.directory.domain_by_name(str(ref["name"]))
        return domain.id if domain else None

    def _rescope(self, data: dict[str, Any], scope: Any) -> Token:
        old = self.store.token(str(data.get("id", "")))
        if old is None:
            raise KeystoneError(404, "Failed to validate token")
        user = self.directory.users[old.user_id]
        if scope is None and old.project_id is not None:
            scope = {"project": {"id": old.project_id}}
        return self._scoped(user, scope, ["token", *old.methods], old.audit_ids[-1:])

    def _app_cred_token(self, data: dict[str, Any], scope: Any) -> Token:
        if scope is not None:
            message = (
                "Error authenticating with application credential: Application credentials"
                " cannot request a scope."
            )
            raise unauthorized(message, identity={})
        if "id" in data:
            found = self.store.app_cred(str(data["id"]))
            if found is None:
                raise not_found("Application Credential", str(data["id"]))
        else:
            if "user" not in data:
                raise expecting("user", "application credential")
            user = self._find_user(data["user"], "application credential")
            found = self.store.app_cred_by_name(user.id, str(data.get("name", "")))
            if found is None:
                raise unauthorized()
        cred, secret_hash = found
        secret = data.get("secret")
        if not isinstance(secret, str) or not secret_matches(secret, secret_hash):
            raise unauthorized()
        if cred.expires_at is not None and cred.expires_at <= time.time():
            raise unauthorized()
        held = {r.name for r in self.directory.roles_on(cred.user_id, cred.project_id)}
        roles = [r for r in cred.roles if r in held]
        if not roles:
            raise unauthorized()
        return self._issue(
            cred.user_id, cred.project_id, ["application_credential"], roles, app_cred=cred.id
        )

    # scope -------------------------------------------------------------------------------
    def _scoped(self, user: User, scope: Any, methods: list[str], audits: list[str]) -> Token:
        if scope is None:  # the default project, if the user has a role there
            held = [r.name for r in self.directory.roles_on(user.id, user.default_project_id)]
            default = user.default_project_id if held else None
            return self._issue(user.id, default, methods, held, audits=audits)
        if not isinstance(scope, dict):
            raise expecting("scope", "auth")
        if "system" in scope:
            if scope["system"] != {"all": True} or user.id not in self.directory.system_admins:
                raise unauthorized()
            admin = effective_roles("admin")
            return self._issue(user.id, None, methods, admin, system=True, audits=audits)
        if "project" not in scope:
            raise unauthorized()  # domain scope: no domain role assignments exist here
        project = self._project(scope["project"])
        roles = self.directory.roles_on(user.id, project.id) if project else []
        if project is None or not roles:
            raise unauthorized()
        return self._issue(user.id, project.id, methods, [r.name for r in roles], audits=audits)

    def _project(self, ref: Any) -> Project | None:
        if not isinstance(ref, dict):
            raise expecting("project", "scope")
        if "id" in ref:
            return self.directory.projects.get(str(ref["id"]))
        if not isinstance(ref.get("name"), str):
            raise expecting("name", "project")
        domain = self._domain_id(ref.get("domain"), "project")
        return self.directory.project_by_name(ref["name"], domain) if domain else None

    def _issue(
        self,
        user_id: str,
        project_id: str | None,
        methods: list[str],
        roles: list[str],
        *,
        system: bool = False,
        app_cred: str | None = None,
        audits: list[str] | None = None,
    ) -> Token:
        now = time.time()
        token = Token(
            id="gAAAAA" + secrets.token_urlsafe(96),  # opaque, Fernet-sized
            user_id=user_id,
            project_id=project_id,
            system=system,
            methods=methods,
            roles=roles,
            app_cred_id=app_cred,
            audit_ids=[secrets.token_urlsafe(16)[:22], *(audits or [])],
            issued_at=now,
            expires_at=now + self.lifetime,
        )
        self.store.issue(token)
        return token
