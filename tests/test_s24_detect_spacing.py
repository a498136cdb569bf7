"""`connect` asks the instance which API it speaks, then hands over to the client: the
client's first request keeps the request-rate cap's spacing after that question, as any
two requests of the bot do (Lemmy's rate limiter counts them all)."""

import itertools

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret, Settings
from modbot.lemmy import connect


@pytest.mark.parametrize("version", ["0.19.9", "1.0"])
def test_the_first_request_after_the_version_question_is_spaced(version, tmp_path):
    per_minute = 120  # one request each 0.5 s
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        settings = Settings(
            lemmy.url,
            "modbot",
            Secret("pw"),
            lemmy.pictrs_url,
            Secret(lemmy.pictrs_api_key),
            tmp_path / "state.sqlite3",
        )
        client = connect(settings, requests_per_minute=per_minute, timeout=5, read_only=True)
        try:
            client.login()
        finally:
            client.close()
        lemmy_requests = [r for r in lemmy.requests if r.server == "lemmy"]
        asked = [r.path for r in lemmy_requests]
        assert asked[0] == "/nodeinfo/2.1" and "login" in asked[1], asked
        gaps = [b.at - a.at for a, b in itertools.pairwise(lemmy_requests)]
        # the cap's interval, less the fake's own clock jitter
        assert min(gaps) >= 60 / per_minute - 0.05, gaps
