"""What `modbot doctor`'s login line says when the login fails otherwise than by a wrong
password.

Before: "login as 'modbot': login as 'modbot' failed: login: still failing after 0
retries (HTTP 502); is Lemmy up and the request rate (lemmy.requests_per_minute) low
enough?" for a 502 (doctor sends one login: the rate is no cause), and for a refusal
with an error code it does not know, "Lemmy will not let this account log in; `modbot
doctor` says what to do": doctor itself pointing at doctor. Now the account is named
once, a 502 is said as the proxy's, and an unknown refusal says where to read why."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)


def login_line(fake_lemmy, capsys) -> str:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["login"]]
    assert status == 1 and line.startswith("FAIL"), out
    assert line.count("login as 'modbot'") == 1, line
    assert fake_lemmy.mutating_requests() == []
    return line


def test_a_502_to_the_login_is_the_proxys_not_the_request_rate(fake_lemmy, env, capsys):
    fake_lemmy.fail_next("/api/v3/user/login", status=502)
    line = login_line(fake_lemmy, capsys)
    assert "HTTP 502" in line and "cannot reach" in line and "Lemmy's logs" in line, line
    assert "requests_per_minute" not in line


def test_a_refusal_doctor_has_no_words_for_says_where_to_read_why(fake_lemmy, env, capsys):
    fake_lemmy.fail_next("/api/v3/user/login", status=400, error="incorrect_totp_token")
    line = login_line(fake_lemmy, capsys)
    assert "incorrect_totp_token" in line, line
    assert "`modbot doctor` says what to do" not in line
    assert "log in as 'modbot' in Lemmy's web page" in line, line


def test_a_401_without_lemmys_error_names_the_account_once(fake_lemmy, env, capsys):
    fake_lemmy.fail_next("/api/v3/user/login", status=401)
    line = login_line(fake_lemmy, capsys)
    assert "HTTP 401 without Lemmy's error in it" in line, line
