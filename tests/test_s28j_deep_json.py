"""An answer nested thousands deep (a hostile or broken Lemmy, or a proxy in front of
it) is a bad answer said in words, not a RecursionError traceback out of the parser."""

from __future__ import annotations

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer
from modbot.lemmy import LemmyClient
from modbot.lemmy.probe import identify

DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON, deeper than Python's parser goes


def test_a_lemmy_answer_nested_too_deep_is_a_bad_answer(fake_lemmy):
    client = LemmyClient(
        fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None
    )
    client.login()
    fake_lemmy.tamper("/api/v3/site", lambda body: DEEP, times=1)
    with pytest.raises(LemmyBadAnswer, match="GET /api/v3/site: HTTP 200 but not JSON"):
        client.site()
    assert client.site()["my_user"]  # the next answer is read as usual


def test_doctor_says_a_nodeinfo_nested_too_deep_is_not_lemmys(fake_lemmy):
    fake_lemmy.tamper("/nodeinfo/2.1", lambda body: DEEP, times=1)
    found = identify(fake_lemmy.url)
    assert found.failed and "not as a Lemmy instance" in found.message
