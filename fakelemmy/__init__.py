"""A fake Lemmy 0.19 + pict-rs instance (and a hostile "remote web" host) for tests and
`modbot demo`. It serves the real HTTP API on 127.0.0.1 from in-memory state.

    from modbot.fakelemmy import FakeLemmy
    with FakeLemmy() as lemmy:
        bot = lemmy.add_person("modbot", admin=True, bot_account=True, password="pw")
        ...

`modbot.fakelemmy.hostile` makes hostile files (bombs, truncated JPEGs, ...) in memory.
"""

from modbot.fakelemmy.fake import FakeLemmy
from modbot.fakelemmy.server import RequestRecord
from modbot.fakelemmy.state import (
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
