"""A fake Lemmy 0.19 + pict-rs instance (and a hostile "remote web" host) for tests and
`modbot demo`. It serves the real HTTP API on 127.0.0.1 from in-memory state.

    from fakelemmy import FakeLemmy
    with FakeLemmy() as lemmy:
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
    Person,
    Post,
    PrivateMessage,
    Report,
    Upload,
)

__all__ = [
    "Comment",
    "Community",
    "CommunityBan",
    "FakeLemmy",
    "ModAction",
    "Person",
    "Post",
    "PrivateMessage",
    "Report",
    "RequestRecord",
    "Upload",
]
