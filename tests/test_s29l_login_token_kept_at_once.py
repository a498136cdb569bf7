"""A login made while the pipeline reads a page (Lemmy dropped the token: an admin's
read of the uploads answers 401) keeps its new token in the state file at once. The
page's cursor writes are held back until the batch before it is recorded; the token
was held with them, so a kill -9 in between (or a cycle failing there) lost it, and
the next start spent another login: Lemmy allows only a few an hour."""

from __future__ import annotations

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyClient
from modbot.session import Session
from modbot.store import Store

LOGIN = "/api/v3/user/login"


def _session(fake_lemmy, state) -> tuple[LemmyClient, Store, Session]:
    settings = Settings(fake_lemmy.url, "modbot", Secret(PASSWORD), state_path=state)
    client = LemmyClient(
        fake_lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
    )
    store = Store(state)
    session = Session(client, store, settings, dry_run=True, warn=lambda _: None)
    return client, store, session


def test_a_login_made_while_a_page_is_read_is_kept_though_the_batch_never_lands(
    fake_lemmy, tmp_path
):
    state = tmp_path / "state.sqlite3"
    client, store, session = _session(fake_lemmy, state)
    session.start()  # logs in: one login, its token kept
    fake_lemmy.invalidate_tokens("modbot")
    with store.cursors_held():  # as Pipeline reads the next page
        client.uploads(1)  # 401: logs in again
    # killed here: the held cursor writes are never applied
    assert len([r for r in fake_lemmy.requests if r.path == LOGIN]) == 2
    client.close()
    store.close()

    client, store, session = _session(fake_lemmy, state)  # the next start
    session.start()
    client.uploads(1)
    assert len([r for r in fake_lemmy.requests if r.path == LOGIN]) == 2, "logged in again"
    client.close()
    store.close()
