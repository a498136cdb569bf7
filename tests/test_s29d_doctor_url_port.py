"""`modbot doctor` with a LEMMY_URL or PICTRS_URL whose port is no port (a typo:
``:85360``, ``:8O36``) or whose [IPv6] host is not closed.

Before: doctor stopped with a Python traceback (ValueError: Port out of range 0-65535)
instead of its findings. Now the settings check fails saying what is wrong and what to
write (every command refuses such a setting at start), and the checks that need no
instance still run."""

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
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)


def doctor(capsys) -> tuple[int, dict[str, tuple[str, str]], str]:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    captured = capsys.readouterr()
    out = captured.out
    assert "Traceback" not in captured.err, captured.err
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return status, found, out


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://127.0.0.1:85360", "Port out of range 0-65535"),
        ("http://127.0.0.1:8O36", "Port could not be cast to integer value as '8O36'"),
        ("http://bot:secret-in-url@[::1", "Invalid IPv6 URL"),
    ],
    ids=["out-of-range", "letter-o", "ipv6-unclosed"],
)
def test_a_lemmy_url_with_no_usable_port_is_a_failed_check(
    fake_lemmy, env, capsys, monkeypatch, url, says
):
    monkeypatch.setenv("LEMMY_URL", url)
    status, found, out = doctor(capsys)
    assert status == 1 and out.endswith("some checks failed\n"), out
    word, said = found["settings"]
    assert word == "FAIL" and says in said, out
    assert "LEMMY_URL" in said and "write a host, and a port of 1-65535" in said, out
    assert "secret-in-url" not in out
    assert not {"dns", "connect", "login"} & set(found), out  # nothing to reach
    assert found["rules"][0] == "ok", out  # the rest still runs
    assert fake_lemmy.mutating_requests() == []


def test_a_pictrs_url_with_no_usable_port_is_a_failed_check(fake_lemmy, env, capsys, monkeypatch):
    monkeypatch.setenv("PICTRS_URL", "http://127.0.0.1:80800")
    status, found, out = doctor(capsys)
    assert status == 1, out
    word, said = found["settings"]
    assert word == "FAIL" and "PICTRS_URL" in said and "Port out of range" in said, out
    assert found["rules"][0] == "ok", out
