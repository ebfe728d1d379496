"""The typed client of Rackspace Identity v2.0 and Cloud Images v2.

``AccountSession`` logs in and keeps one account's token fresh;
``ImagesClient`` speaks Cloud Images in one region over that session.
Every failure is one of ``cloudimages.errors``.
"""

from ._http import USER_AGENT, Timeouts
from .identity import DEFAULT_IDENTITY_URL, AccountSession, Credentials
from .images import PATCH_MEDIA_TYPE, ImagesClient, build_patch
from .models import (
    Access,
    Endpoint,
    Image,
    ImageList,
    Member,
    MemberList,
    MemberStatus,
    Task,
    TaskList,
    Token,
)
from .retry import RetryPolicy, is_transient, set_testing

__all__ = [
    "DEFAULT_IDENTITY_URL",
    "PATCH_MEDIA_TYPE",
    "USER_AGENT",
    "Access",
    "AccountSession",
    "Credentials",
    "Endpoint",
    "Image",
    "ImageList",
    "ImagesClient",
    "Member",
    "MemberList",
    "MemberStatus",
    "RetryPolicy",
    "Task",
    "TaskList",
    "Timeouts",
    "Token",
    "build_patch",
    "is_transient",
    "set_testing",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
