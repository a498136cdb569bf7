"""A password written into LEMMY_URL or PICTRS_URL (basic auth in front of Lemmy or
pict-rs: http://user:password@host) never shows in the Lemmy layer's logs or messages."""

from __future__ import annotations

import logging

import pytest

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy import LemmyClient
from modbot.lemmy.detect import detect
from modbot.lemmy.probe import url_problem

SECRET = "S3cretpw"


def with_password(url: str) -> str:
    return url.replace("://", f"://bob:{SECRET}@", 1)


def test_a_password_in_lemmy_url_stays_out_of_logs_and_messages(fake_lemmy, caplog):
    lemmy = fake_lemmy
    client = LemmyClient(
        with_password(lemmy.url),
        "modbot",
        Secret(PASSWORD),
        pictrs_url=with_password(lemmy.pictrs_url),
        pictrs_api_key=Secret("wrong key"),
        requests_per_minute=0,
        sleep=lambda _: None,
    )
    said: list[str] = [repr(client)]
    with caplog.at_level(logging.DEBUG):
        client.login()
        for failing in (
            lambda: client.api("GET", "/post", params={"id": 999999}),
            lambda: client.stored_files(None),
        ):
            with pytest.raises(LemmyError) as err:
                failing()
            said.append(str(err.value))
    said += [r.getMessage() for r in caplog.records]
    assert any("logged in to" in line for line in said)
    assert not [line for line in said if SECRET in line]
    client.close()


def test_a_password_in_lemmy_url_stays_out_of_the_url_advice_and_detection(fake_lemmy):
    for url in (with_password("https://lemmy.example/api/v3"), with_password("ftp://x.example")):
        said = url_problem(url)
        assert said is not None and SECRET not in said
    lemmy = fake_lemmy
    client = LemmyClient(with_password(lemmy.url), "modbot", Secret(PASSWORD))
    for path in ("/nodeinfo/2.1", "/api/v4/site", "/api/v3/site"):
        lemmy.fail_next(path, status=404, error="not_found", times=1)
    with pytest.raises(LemmyError) as err:
        detect(client)
    assert "answers neither" in str(err.value) and SECRET not in str(err.value)
    client.close()
