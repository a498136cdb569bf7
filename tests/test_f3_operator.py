"""What the operator sees on the terminal: no secret in an error, no noise at INFO."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize(
    "url", ["ftp://bot:hunter2pw@lemmy.example", "bot:hunter2pw@lemmy.example"]
)
def test_bad_lemmy_url_error_hides_its_password(monkeypatch, capsys, tmp_path, url):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEMMY_URL", url)
    monkeypatch.setenv("LEMMY_USERNAME", "bot")
    monkeypatch.setenv("LEMMY_PASSWORD", "secret")
    assert main(["--env-file", "/dev/null", "run", "--once"]) == 1
    err = capsys.readouterr().err
    assert "LEMMY_URL must start with http:// or https://" in err
    assert "hunter2pw" not in err
