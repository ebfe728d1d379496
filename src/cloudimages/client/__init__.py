"""The typed client of Rackspace Identity v2.0, Cloud Images v2 and Cloud Files.

``AccountSession`` logs in and keeps one account's token fresh;
``ImagesClient`` speaks Cloud Images in one region over that session;
``Cloud`` is the seam the pipelines use (``RackspaceCloud`` implements it).
Every failure is one of ``cloudimages.errors``.
"""

from ._budget import set_transfer_budget
from ._http import USER_AGENT, Timeouts
from .cloud import Cloud, Exported, ExportJob, ImportJob, ImportLimits, Staging
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
from .rackspace import RackspaceCloud
from .retry import RetryPolicy, is_transient, set_testing
from .urls import Fetched, fetch_url

__all__ = [
    "DEFAULT_IDENTITY_URL",
    "PATCH_MEDIA_TYPE",
    "USER_AGENT",
    "Access",
    "AccountSession",
    "Cloud",
    "Credentials",
    "Endpoint",
    "ExportJob",
    "Exported",
    "Fetched",
    "Image",
    "ImageList",
    "ImagesClient",
    "ImportJob",
    "ImportLimits",
    "Member",
    "MemberList",
    "MemberStatus",
    "RackspaceCloud",
    "RetryPolicy",
    "Staging",
    "Task",
    "TaskList",
    "Timeouts",
    "Token",
    "build_patch",
    "fetch_url",
    "is_transient",
    "set_testing",
    "set_transfer_budget",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
