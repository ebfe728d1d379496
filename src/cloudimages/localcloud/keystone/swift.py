"""Cloud Files' emulation behind Keystone v3 tokens, as Swift's ``keystoneauth`` runs it.

The object handlers ask two things: who a token belongs to (``validate``) and whether
an account exists (``by_storage_account``). These adapters answer from Keystone: a
token with an operator role (``admin`` or ``member``) owns ``AUTH_<project id>``; a
token with ``reader`` only owns nothing (403 on its own account unless an ACL lets it
in, as keystoneauth answers); every project of the directory has an account.
"""

from __future__ import annotations

from ..accounts import Account, Accounts
from ..identity import Identity
from .callers import RESELLER_PREFIX, caller_for, project_account
from .service import Keystone

OPERATOR_ROLES = frozenset({"admin", "member"})


class KeystoneSwiftIdentity(Identity):
    """``Identity.validate`` answered by Keystone v3 tokens (nothing else is used)."""

    def __init__(self, keystone: Keystone, region: str) -> None:
        self._keystone = keystone
        self._region = region

    def validate(self, token: str | None) -> Account | None:
        found = self._keystone.validate(token)
        if found is None:
            return None
        caller = caller_for(found, self._keystone.directory, self._region)
        if OPERATOR_ROLES.isdisjoint(caller.roles):
            return Account(
                username=caller.username,
                api_key="",
                password="",
                tenant_id=caller.tenant_id,
                storage_account="",  # no operator role: owns no account
                default_region=self._region,
                is_admin=False,
            )
        return caller


class ProjectAccounts(Accounts):
    """``Accounts.by_storage_account`` answered by the directory's projects."""

    def __init__(self, keystone: Keystone, region: str) -> None:
        self._keystone = keystone
        self._region = region

    def by_storage_account(self, name: str) -> Account | None:
        project = self._keystone.directory.projects.get(name.removeprefix(RESELLER_PREFIX))
        if project is None or not name.startswith(RESELLER_PREFIX):
            return None
        return project_account(project, self._region)
