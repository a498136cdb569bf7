"""The site's own URL in ``GET /site`` (``actor_id`` on 0.19, ``ap_id`` on 1.0), which the
session takes as the instance's public URL, of a type Lemmy never sends: the session
stopped with an AttributeError traceback at start. It is read as not said: LEMMY_URL
stays the public URL."""

from __future__ import annotations

import pytest

from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.session import Session
from modbot.store import Store


@pytest.mark.both_lemmys
def test_a_site_url_that_is_not_a_string_is_not_said_and_the_session_starts(fake_lemmy, tmp_path):
    lemmy = fake_lemmy
    v4 = lemmy.api_version == "v4"
    key = "ap_id" if v4 else "actor_id"

    def spoil(body):
        view = body["site_view"]
        return {**body, "site_view": {**view, "site": {**view["site"], key: 5}}}

    lemmy.tamper("/api/v4/site" if v4 else "/api/v3/site", spoil)
    client = (LemmyClientV4 if v4 else LemmyClient)(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0
    )
    store = Store(tmp_path / "state.sqlite3")
    said: list[str] = []
    try:
        session = Session(
            client,
            store,
            Settings(lemmy.url, "modbot", Secret("pw")),
            dry_run=True,
            warn=said.append,
        )
        assert session.start()
        assert session.public_url == lemmy.url.rstrip("/")
    finally:
        store.close()
        client.close()
