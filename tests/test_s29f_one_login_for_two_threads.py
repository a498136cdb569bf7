"""Two threads sharing the client (the daemon's cycle and its store sweep, the gate's
report thread) that both find the login dropped (401) log in again once between
them: the second takes the token the first got. Lemmy allows only a few logins an
hour, so each needless one brings the bot nearer to being locked out."""

from __future__ import annotations

import threading
import time

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient

REMOVE = "/api/v3/post/remove"


def test_two_threads_dropped_at_once_log_in_again_once():
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        posts = [lemmy.add_post(cast.pics, cast.alice) for _ in range(2)]
        client = LemmyClient(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        client.login()
        lemmy.invalidate_tokens("modbot")  # the token expires, or Lemmy restarted
        lemmy.hold(REMOVE)  # both removals are on their way with the dropped token
        errors: list[BaseException] = []

        def remove(post_id: int) -> None:
            try:
                client.remove_post(post_id, "spam")
            except BaseException as exc:  # said by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=remove, args=(p.id,)) for p in posts]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while sum(r.path == REMOVE for r in lemmy.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        lemmy.release(REMOVE)  # both answered 401
        for t in threads:
            t.join(10)
        assert errors == []
        logins = [r.status for r in lemmy.requests if r.path == "/api/v3/user/login"]
        assert logins == [200, 200]  # the first login, and one again: not one per thread
        assert client.logins == 2
        assert all(lemmy.post(p.id).removed for p in posts)
        removals = [r.status for r in lemmy.requests if r.path == REMOVE]
        assert removals == [401, 401, 200, 200]
