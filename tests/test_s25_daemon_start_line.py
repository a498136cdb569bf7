"""The daemon's start line says whether it will sweep pict-rs' store: it knows whether
PICTRS_URL and PICTRS_API_KEY are set, so it does not say "(with PICTRS_URL and
PICTRS_API_KEY)" as if it did not."""

from __future__ import annotations

import logging

import pytest
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main


@pytest.mark.parametrize("pictrs", [True, False], ids=["pict-rs set", "no pict-rs"])
def test_the_start_line_says_whether_the_store_is_swept(
    fake_lemmy, tiny, tmp_path, monkeypatch, caplog, pictrs
):
    rules = write_rules(tmp_path, fake_lemmy, tiny, known_bad=[], rules="")
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules, pictrs=pictrs)
    if not pictrs:
        monkeypatch.delenv("PICTRS_URL", raising=False)
        monkeypatch.delenv("PICTRS_API_KEY", raising=False)
    with caplog.at_level(logging.INFO):
        assert main(["run", "--once", "--dry-run"]) == 0
    (line,) = [r.getMessage() for r in caplog.records if "modbot dry-run on" in r.getMessage()]
    assert "(with PICTRS_URL and PICTRS_API_KEY)" not in line, line
    if pictrs:
        assert "store sweep '0 5 * * 0' UTC" in line, line
    else:
        assert "no store sweep (PICTRS_URL and PICTRS_API_KEY are not set)" in line, line
