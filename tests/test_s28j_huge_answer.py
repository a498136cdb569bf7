"""An answer far larger than any Lemmy sends (a hostile or broken Lemmy, a proxy
streaming something else) is cut off at a bound and said, not read whole into memory."""

from __future__ import annotations

import pytest

from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer
from modbot.lemmy import LemmyClient
from modbot.lemmy.transport import MAX_ANSWER_BYTES


def client_for(lemmy) -> LemmyClient:
    return LemmyClient(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=lambda s: None
    )


def test_an_answer_over_the_bound_is_a_bad_answer_not_read_whole(fake_lemmy):
    client = client_for(fake_lemmy)
    client.login()
    padding = "x" * (MAX_ANSWER_BYTES + 1024)
    fake_lemmy.tamper("/api/v3/site", lambda body: {**body, "padding": padding}, times=1)
    with pytest.raises(LemmyBadAnswer) as err:
        client.site()
    said = str(err.value)
    assert said.startswith("GET /api/v3/site: ")
    assert f"larger than {MAX_ANSWER_BYTES // 2**20} MiB" in said
    assert client.site()["my_user"]  # the next answer is read as usual
