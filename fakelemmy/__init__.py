"""A fake Lemmy 0.19 or 1.0 + pict-rs instance (and a hostile "remote web" host) for tests
and `modbot demo`. It serves the real HTTP API on 127.0.0.1 from in-memory state: API v3
(Lemmy 0.19.9, the default) or API v4 and 1.0's v3 layer (`version="1.0"`).

    from fakelemmy import FakeLemmy
    with FakeLemmy() as lemmy:  # or FakeLemmy(version="1.0")
        bot = lemmy.add_person("modbot", admin=True, bot_account=True, password="pw")
        ...

`fakelemmy.hostile` makes hostile files (bombs, truncated JPEGs, ...) in memory.
"""

from fakelemmy.fake import FakeLemmy
from fakelemmy.server import RequestRecord
from fakelemmy.state import (
    Comment,
    Community,
    CommunityBan,
    ModAction,
    Notification,
    Person,
    Post,
    PrivateMessage,
    Report,
    SiteSettings,
    Upload,
)

__all__ = [
    "Comment",
    "Community",
    "CommunityBan",
    "FakeLemmy",
    "ModAction",
    "Notification",
    "Person",
    "Post",
    "PrivateMessage",
    "Report",
    "RequestRecord",
    "SiteSettings",
    "Upload",
]
