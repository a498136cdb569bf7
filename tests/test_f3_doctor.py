"""Without pict-rs' key, `modbot doctor` says what purge_image does on this Lemmy."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.mark.both_lemmys
def test_doctor_without_pictrs_says_what_purge_does_on_this_version(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(rules),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PICTRS_URL", raising=False)
    monkeypatch.delenv("PICTRS_API_KEY", raising=False)
    main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    (line,) = [x for x in capsys.readouterr().out.splitlines() if " pictrs " in f" {x} "]
    if not str(fake_lemmy.version).startswith("0."):
        assert "not_possible" in line and "stays in pict-rs" not in line
    else:
        assert "stays in pict-rs" in line and "not_possible" not in line
