"""OpenStack account blocks from a ``clouds.yaml`` entry and the command line's options.

The entry is read by openstacksdk's own loader (``openstack.config``), so it is
found where every OpenStack tool finds it: ``$OS_CLIENT_CONFIG_FILE``,
``./clouds.yaml``, ``~/.config/openstack/clouds.yaml``, ``/etc/openstack/clouds.yaml``,
with ``secure.yaml`` beside it. Options given on the command line win over the entry.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, ValidationError

from ..errors import ConfigurationError

__all__ = ["SEARCHED", "block_fields", "from_clouds_yaml"]

SEARCHED = (
    "$OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml,"
    " /etc/openstack/clouds.yaml"
)
_AUTH_TYPES = {"password", "v3password", "v3applicationcredential", "applicationcredential"}
_AUTH_FIELDS = (
    "auth_url",
    "username",
    "password",
    "user_domain_name",
    "project_name",
    "project_id",
    "project_domain_name",
    "application_credential_id",
    "application_credential_secret",
)


def from_clouds_yaml(entry: str) -> dict[str, Any]:
    """The block fields an entry of ``clouds.yaml`` gives (``ConfigurationError`` if none)."""
    from openstack import config
    from openstack import exceptions as os_errors

    try:
        cloud = config.OpenStackConfig().get_one(cloud=entry)
    except os_errors.ConfigException as err:
        msg = (
            f"no cloud {entry!r} in clouds.yaml ({err}); it is looked for in {SEARCHED}."
            " Add the entry, or give --auth-url and the credentials as options."
        )
        raise ConfigurationError(msg) from err
    auth_type = str(cloud.config.get("auth_type") or "password")
    if auth_type not in _AUTH_TYPES:
        msg = (
            f"cloud {entry!r} in clouds.yaml logs in with {auth_type!r}; cloudimages takes"
            " a password (v3password) or an application credential (v3applicationcredential)"
        )
        raise ConfigurationError(msg)
    auth = dict(cloud.config.get("auth") or {})
    fields = {key: auth[key] for key in _AUTH_FIELDS if auth.get(key)}
    if cloud.region_name:
        fields["region"] = cloud.region_name
    if cloud.config.get("interface"):
        fields["interface"] = cloud.config["interface"]
    return fields


def block_fields(given: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Checked fields of an ``OpenStackAccount`` (secrets as ``SecretStr``)."""
    from ..blocks import OpenStackAccount

    fields = {k: v for k, v in given.items() if v is not None}
    for secret in ("password", "application_credential_secret"):
        if isinstance(fields.get(secret), str):
            fields[secret] = SecretStr(fields[secret])
    if not fields.get("auth_url"):
        msg = f"{source} has no auth_url: give --auth-url (Keystone's URL)"
        raise ConfigurationError(msg)
    try:
        block = OpenStackAccount(**fields)
        block.credentials()  # a password or an application credential, not both
    except ValidationError as err:  # messages only: pydantic's text may quote the input
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())
        msg = f"{source} does not describe an OpenStack login: {problems}"
        raise ConfigurationError(msg) from None
    return fields
