"""`PICTRS_URL` without its scheme is refused at start, as `LEMMY_URL` is.

Before, `PICTRS_URL=pictrs:8080` (the scheme left out, as in a compose file's
`pictrs:8080`) was taken: the bot started, read and classified, and only a rule's
`purge_image` found that pict-rs could not be reached by that "URL", at the moment
the admin needed it. Now the bot refuses to start, saying what to write, and without
the URL's password."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("url", ["pictrs:8080", "bot:hunter2pw@pictrs:8080"])
def test_a_pictrs_url_without_its_scheme_stops_the_start(monkeypatch, capsys, tmp_path, url):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEMMY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LEMMY_USERNAME", "bot")
    monkeypatch.setenv("LEMMY_PASSWORD", "secret")
    monkeypatch.setenv("PICTRS_URL", url)
    monkeypatch.setenv("PICTRS_API_KEY", "key")
    assert main(["--env-file", "/dev/null", "run", "--once"]) == 1
    err = capsys.readouterr().err
    assert "PICTRS_URL must start with http:// or https:// (like http://pictrs:8080)" in err
    assert "hunter2pw" not in err
