"""The credentials block meets Prefect's block standards and keeps its key secret."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from cloudimages.blocks import CloudImagesAccount
from cloudimages.client.keystone import KeystoneCredentials


class TestCloudImagesAccountStandards(BlockStandardTestSuite):
    """Descriptions on every field, a documentation URL and a loadable code example."""

    @pytest.fixture
    def block(self) -> type[Block]:
        return CloudImagesAccount

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        """Not checked: the logo test downloads the image, and CI has no internet."""
        pytest.skip("needs the network")


def test_blocks_are_registered_through_the_prefect_collections_entry_point() -> None:
    """`prefect block register` and the UI find the block through the entry point."""
    found = {ep.name: ep.value for ep in entry_points(group="prefect.collections")}
    assert found.get("cloudimages") == "cloudimages.blocks"


def test_the_api_key_never_shows_in_repr_or_dumps() -> None:
    """The key is a SecretStr: masked in repr, in model dumps and in JSON."""
    account = CloudImagesAccount(username="alice", api_key="s3cret-key", region="DFW")
    assert "s3cret-key" not in repr(account)
    assert "s3cret-key" not in str(account.model_dump())
    assert "s3cret-key" not in account.model_dump_json()
    assert account.api_key.get_secret_value() == "s3cret-key"


def test_sessions_are_shared_per_account_and_region() -> None:
    """Parallel tasks of one account share one session; another region gets its own."""
    account = CloudImagesAccount(username="alice", api_key="k", region="DFW")
    same = CloudImagesAccount(username="alice", api_key="k", region="DFW")
    assert account.session() is same.session()
    assert account.session("IAD") is not account.session()
    other_key = CloudImagesAccount(username="alice", api_key="other", region="DFW")
    assert other_key.session() is not account.session()


@pytest.mark.parametrize(
    ("fields", "region"),
    [
        ({"username": "alice", "api_key": "k1", "region": "DFW"}, None),
        ({"username": "bob", "api_key": "k2", "region": None}, "IAD"),
        (
            {
                "username": "carol",
                "api_key": "k3",
                "region": "ORD",
                "identity_url": "http://127.0.0.1:5000/v2.0",
                "use_internal_url": True,
            },
            "DFW",
        ),
    ],
)
def test_the_cli_opens_a_saved_document_as_the_block_would(
    fields: dict[str, object], region: str | None
) -> None:
    """The CLI's Prefect-free reader of a saved block gives the block's own credentials.

    Every field of the block is one the reader knows (a new field fails here first).
    """
    from cloudimages.cli._accountstore import OPENERS, rackspace_credentials

    block = CloudImagesAccount(**fields)  # type: ignore[arg-type]
    saved = block.model_dump(mode="json") | {"api_key": block.api_key.get_secret_value()}
    assert rackspace_credentials(saved, region) == block.credentials(region)
    assert set(CloudImagesAccount.model_fields) == {
        "username", "api_key", "region", "identity_url", "use_internal_url",
    }  # fmt: skip
    assert block.get_block_type_slug() in OPENERS


@pytest.mark.parametrize(
    "fields",
    [
        {"auth_url": "http://127.0.0.1:5000/v3", "username": "dave", "password": "pw",
         "project_name": "demo", "region": "RegionOne"},
        {"auth_url": "http://keystone/v3", "application_credential_id": "ac",
         "application_credential_secret": "s", "project_id": "p1", "interface": "internal",
         "user_domain_name": "Users", "project_domain_name": "Projects"},
    ],
)  # fmt: skip
def test_the_cli_opens_a_saved_openstack_document_as_the_block_would(
    fields: dict[str, object],
) -> None:
    """The Prefect-free reader knows every field of the OpenStack block too."""
    from cloudimages.blocks import OpenStackAccount
    from cloudimages.cli._accountstore import OPENERS, openstack_credentials

    block = OpenStackAccount(**fields)  # type: ignore[arg-type]
    saved = block.model_dump(mode="json")
    for secret in ("password", "application_credential_secret"):
        value = getattr(block, secret)
        saved[secret] = value.get_secret_value() if value else None
    assert openstack_credentials(saved) == block.credentials()
    read = set(KeystoneCredentials.model_fields) | {"import_method"}
    assert set(OpenStackAccount.model_fields) == read
    assert block.get_block_type_slug() in OPENERS
