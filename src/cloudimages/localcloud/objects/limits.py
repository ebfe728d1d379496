"""Swift's constraints, as Cloud Files and a default Swift 2.38 enforce them."""

from __future__ import annotations

MAX_FILE_SIZE = 5 * 1024**3 + 2  # 5368709122: Swift's default max_file_size
MAX_OBJECT_NAME_LENGTH = 1024
MAX_CONTAINER_NAME_LENGTH = 256
MAX_ACCOUNT_NAME_LENGTH = 256
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000
EXTRA_HEADER_COUNT = 0

# Static Large Objects (Rackspace's documented limits; see docs/localcloud-differences.md)
SLO_MAX_MANIFEST_SEGMENTS = 1000
SLO_MAX_MANIFEST_SIZE = 8 * 1024 * 1024
SLO_MIN_SEGMENT_SIZE = 1

CHUNK_SIZE = 64 * 1024
CLIENT_TIMEOUT = 60.0  # Swift's client_timeout: seconds a stalled upload body may wait
