"""Image scenarios shared by the local-cloud and the real-Glance ``ImagesClient`` tests.

Each ``check_*`` runs one behaviour of ``ImagesClient`` end to end against whatever
server the clients point at, and asserts it; the test modules only pick the server,
the clients and ``image``: an active image of ``owner``'s that no one else can see.
"""

from __future__ import annotations

import pytest

from cloudimages.client import ImagesClient
from cloudimages.errors import Conflict, Forbidden, NotFound


def check_delete_protected(owner: ImagesClient, image: str) -> None:
    """A protected image cannot be deleted; once unprotected it can, and is gone."""
    assert owner.update_image(image, {"protected": True}).protected
    with pytest.raises(Forbidden, match="protected"):
        owner.delete_image(image)
    owner.update_image(image, {"protected": False})
    owner.delete_image(image)
    with pytest.raises(NotFound):
        owner.get_image(image)


def check_tags_added_idempotently(owner: ImagesClient, image: str, tag: str) -> None:
    """Adding ``tag`` twice keeps one, the tag filter finds it; removing it twice is 404."""
    owner.add_tag(image, tag)
    owner.add_tag(image, tag)
    assert owner.get_image(image).tags == [tag]
    tagged = owner.list_images(tags=[tag], owner=owner.session.tenant_id)
    assert [i.id for i in tagged] == [image]
    owner.remove_tag(image, tag)
    assert owner.get_image(image).tags == []
    with pytest.raises(NotFound):
        owner.remove_tag(image, tag)


def check_sharing_lifecycle(owner: ImagesClient, consumer: ImagesClient, image: str) -> None:
    """Offer, discover, accept, see in the default list, reject, and revoke."""
    member_id = consumer.session.tenant_id
    member = owner.add_member(image, member_id)
    assert (member.image_id, member.member_id, member.status) == (image, member_id, "pending")
    assert image not in {i.id for i in consumer.list_images()}
    offers = consumer.list_images(visibility="shared", member_status="pending")
    assert image in {i.id for i in offers}
    with pytest.raises(Forbidden):
        owner.set_member_status(image, member_id, "accepted")
    accepted = consumer.set_member_status(image, member_id, "accepted")
    assert accepted.status == "accepted"
    assert image in {i.id for i in consumer.list_images()}
    assert [m.member_id for m in owner.list_members(image)] == [member_id]
    assert [m.member_id for m in consumer.list_members(image)] == [member_id]
    assert consumer.get_member(image, member_id).status == "accepted"
    assert owner.get_member(image, member_id).status == "accepted"
    assert consumer.get_image(image).id == image
    with pytest.raises(Conflict):
        owner.add_member(image, member_id)
    rejected = consumer.set_member_status(image, member_id, "rejected")
    assert rejected.status == "rejected"
    assert image not in {i.id for i in consumer.list_images()}
    owner.remove_member(image, member_id)
    assert owner.list_members(image) == []
    with pytest.raises(NotFound):
        consumer.get_image(image)
    with pytest.raises(NotFound):
        owner.get_member(image, member_id)
