"""Two threads sharing a client that has no login yet (the gate's report thread and its
first request, a store sweep started beside the first cycle) log in once between them:
the second waits for the first's token. Lemmy allows only a few logins an hour (the
`register` bucket), so each needless one brings the bot nearer to being locked out."""

from __future__ import annotations

import threading

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient


def test_two_threads_without_a_login_yet_log_in_once():
    with FakeLemmy() as lemmy:
        standard_cast(lemmy)
        lemmy.delay("/api/v3/user/login", 0.5)  # the second thread asks meanwhile
        client = LemmyClient(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
        )
        answers: list[dict] = []
        threads = [
            threading.Thread(target=lambda: answers.append(client.api("GET", "/site")))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert [a["my_user"]["local_user_view"]["person"]["name"] for a in answers] == [
            "modbot"
        ] * 2
        logins = [r.status for r in lemmy.requests if r.path == "/api/v3/user/login"]
        assert logins == [200]
        assert client.logins == 1
