"""PICTRS_URL set to the instance's public address (pict-rs' port is not public; nginx
answers its paths with lemmy-ui's HTML page) or to a proxy: the store sweep failed with
"is LEMMY_URL the Lemmy API, not a proxy's or another site's page?", sending the admin to
check a setting that is right. The message names PICTRS_URL, the setting to fix."""

from __future__ import annotations

from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main

PAGE = "<!DOCTYPE html><html><head><title>Lemmy</title></head><body></body></html>"


def test_an_html_page_where_pict_rs_should_answer_names_pictrs_url(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.tamper("/internal/hashes", lambda body: PAGE, server="pictrs")
    code = main(["sweep", "--store", "--dry-run"])
    err = capsys.readouterr().err
    assert code != 0, err
    assert "PICTRS_URL" in err, err
    assert "LEMMY_URL" not in err, err
