"""`modbot doctor` reads Lemmy's nodeinfo once: the version check (``identify``) keeps
the answer's Date header, and the clock check compares with it. Before, the clock check
sent a second ``GET /nodeinfo/2.0.json`` of its own, each run."""

from __future__ import annotations

from datetime import timedelta

from support.policies import write_rules

import modbot.doctor
from modbot.cli import main


def _env(monkeypatch, lemmy, tiny, tmp_path):
    for key, value in {
        "LEMMY_URL": lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)


def _checks(out: str) -> dict[str, tuple[str, str]]:
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return found


def test_doctor_reads_nodeinfo_2_0_once_and_still_checks_the_clock(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _env(monkeypatch, fake_lemmy, tiny, tmp_path)
    real = modbot.doctor._now
    monkeypatch.setattr(modbot.doctor, "_now", lambda: real() + timedelta(hours=2))
    main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    found = _checks(capsys.readouterr().out)
    assert found["lemmy"][0] == "ok"
    word, said = found["clock"]
    assert word == "warn" and "this machine's clock is about 2h ahead of the time " in said
    asked = [r.path for r in fake_lemmy.requests if r.path == "/nodeinfo/2.0.json"]
    assert asked == ["/nodeinfo/2.0.json"], "one read of nodeinfo for the version and the clock"
