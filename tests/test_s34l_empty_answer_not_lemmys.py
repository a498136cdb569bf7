"""A 200 with an empty body (a proxy's or a cache's in front of Lemmy: no Lemmy API
route answers that) was read as an empty JSON object: on 0.19 the session check took
`/site` without `my_user` for a dropped login and spent a login at every check (Lemmy
takes a few an hour), then failed with "still answers as for an anonymous visitor after
logging in again", which sends the admin after the account; on 1.0 an empty `/account`
was an account of nothing, unsaid. It is a bad answer now, as any answer Lemmy never
sends: the cycle fails saying so, the next asks again, no login spent."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


@pytest.mark.parametrize(
    ("version", "client_class", "path"),
    [("0.19.9", LemmyClient, "/api/v3/site"), ("1.0", LemmyClientV4, "/api/v4/account")],
)
def test_an_empty_200_is_a_bad_answer_and_spends_no_login(version, client_class, path):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        client = client_class(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            assert client.check_session().account is not None
            lemmy.tamper(path, lambda body: b"")
            for _ in range(2):
                with pytest.raises(LemmyBadAnswer, match="empty body"):
                    client.check_session()
            lemmy.tamper(path, None)
            assert client.check_session().account is not None
        finally:
            client.close()
        logins = [r for r in lemmy.requests if r.path.endswith("/login")]
        assert [r.status for r in logins] == [200]
