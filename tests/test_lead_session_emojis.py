"""The site's custom emojis are read again at each session check: a first read that
failed (1.0 reads them from a list of their own), or an emoji added later, is not
missing for the whole run."""

from __future__ import annotations

from datetime import timedelta

from modbot.config.settings import Secret, Settings
from modbot.model import Account, SiteInfo
from modbot.session import Session
from modbot.store import Store


class Emojis:
    """The client as Session uses it; ``emojis`` is what the next check reads."""

    api_version = "v4"
    on_login = None

    def __init__(self) -> None:
        self.emojis: frozenset[str] = frozenset()

    def restore_token(self, token: str) -> None:
        pass

    def check_session(self) -> SiteInfo:
        account = Account(7, True, show_nsfw=True, show_bot_accounts=True, show_read_posts=True)
        return SiteInfo(version="1.0.0", account=account, custom_emoji_urls=self.emojis)


def test_emojis_read_at_a_later_check_are_used(tmp_path):
    client = Emojis()
    settings = Settings("http://lemmy.example", "modbot", Secret("password123"))
    store = Store(tmp_path / "state.sqlite3")
    try:
        session = Session(
            client,  # type: ignore[arg-type]
            store,
            settings,
            dry_run=True,
            warn=print,
            check_every=timedelta(0),
        )
        assert session.start() and session.emojis == frozenset()  # the first read failed
        client.emojis = frozenset({"https://lemmy.example/pictrs/image/wave.png"})
        assert session.start()
        assert session.emojis == client.emojis
    finally:
        store.close()
