"""`modbot doctor`'s output is pasted into bug reports: a setting it cannot take is
named without the password written into it."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize(
    "url",
    ["ftp://bot:hunter2-secret-pw@lemmy.example", "bot:hunter2-secret-pw@lemmy.example"],
    ids=["other-scheme", "no-scheme"],
)
def test_a_refused_lemmy_url_is_shown_without_its_password(tmp_path, monkeypatch, capsys, url):
    monkeypatch.chdir(tmp_path)
    for name in ("PICTRS_URL", "PICTRS_API_KEY", "MODBOT_CLASSIFIER_TOKEN", "MODBOT_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEMMY_URL", url)
    monkeypatch.setenv("LEMMY_USERNAME", "bot")
    monkeypatch.setenv("LEMMY_PASSWORD", "another-long-password")
    assert main(["doctor", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  settings    LEMMY_URL must start with http:// or https://" in out
    # (the settings' message shows the URL without its login since 548e112)
    assert "hunter2-secret-pw" not in out and "lemmy.example" in out
