"""LEMMY_URL and PICTRS_URL that no HTTP client could use are said at start.

Before, a port that is not one (`:85360`, `:8O36`) or an unclosed IPv6 host passed the
settings and `modbot run`, `report` and `sweep` ended in a Python traceback from deep in
the client; `HTTPS://host` (a scheme in capitals, which browsers take) was refused;
the message for a missing variable sent a pip user to a `.env.example` they do not have."""

from __future__ import annotations

import pytest

from modbot.cli import main
from modbot.config.settings import Settings

LOGIN = {"LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": "hunter2-secret"}


@pytest.mark.parametrize(
    "name,value",
    [
        ("LEMMY_URL", "https://lemmy.example:85360"),
        ("LEMMY_URL", "https://lemmy.example:8O36"),
        ("LEMMY_URL", "http://[::1"),
        ("PICTRS_URL", "http://pictrs:99999"),
    ],
)
def test_an_address_no_client_could_use_is_said_at_start(
    name, value, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    env = {"LEMMY_URL": "https://lemmy.example", **LOGIN, name: value}
    if name == "PICTRS_URL":
        env["PICTRS_API_KEY"] = "key"
    for key, text in env.items():
        monkeypatch.setenv(key, text)
    rc = main(["run", "--once"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "Traceback" not in err and "ValueError" not in err, err
    assert f"{name} " in err and "is not a URL an HTTP client can use" in err, err
    assert "hunter2" not in err


def test_a_scheme_in_capitals_is_taken():
    settings = Settings.from_env({"LEMMY_URL": "HTTPS://Lemmy.example/", **LOGIN})
    assert settings.lemmy_url == "https://Lemmy.example"


def test_a_missing_variable_names_modbot_init():
    with pytest.raises(Exception, match="modbot init"):
        Settings.from_env({"LEMMY_URL": "https://lemmy.example"})
