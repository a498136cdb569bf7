"""What the bot will run and when, as `modbot check-rules` and `modbot doctor` say it.

Before: the rules' summary (check-rules, doctor, the "modbot live" line) named the poll
and the backlog sweep only, though the daemon also walks pict-rs' whole store on
`schedule.store_sweep_cron` (only with PICTRS_URL and PICTRS_API_KEY); doctor did not
list the schedule at all, so an admin without pict-rs settings never learnt the store
sweep the default rules.yaml asks for would not run."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    values = {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(rules),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def with_schedule(path, schedule: str) -> None:
    path.write_text(path.read_text() + f"schedule: {schedule}\n")


def doctor(capsys) -> tuple[int, dict[str, tuple[str, str]], str]:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return status, found, out


def test_check_rules_names_the_store_sweep_and_what_it_needs(tmp_path, fake_lemmy, tiny, capsys):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    assert main(["check-rules", str(rules)]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.endswith(
        "poll every 1m, sweep '0 4 * * *' UTC back 30d, store sweep '0 5 * * 0' UTC "
        "(with PICTRS_URL and PICTRS_API_KEY)"
    ), summary

    with_schedule(rules, "{sweep_cron: off, store_sweep_cron: off}")
    assert main(["check-rules", str(rules)]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.endswith("poll every 1m, no sweep, no store sweep"), summary


def test_doctor_says_what_runs_when(fake_lemmy, env, capsys, tmp_path):
    status, found, out = doctor(capsys)
    assert status == 0, out
    word, said = found["schedule"]
    assert word == "ok", out
    assert (
        said.startswith("poll every 1m; sweep '0 4 * * *' UTC back 30d (next ")
        and "; store sweep '0 5 * * 0' UTC (next " in said
    ), out
    assert list(found).index("schedule") == list(found).index("rules") + 1, out

    with_schedule(tmp_path / "rules.yaml", "{poll_every: 5m, sweep_cron: off}")
    status, found, out = doctor(capsys)
    assert found["schedule"][1].startswith("poll every 5m; no scheduled sweep; store sweep "), out


def test_doctor_warns_that_the_store_sweep_asked_for_will_not_run(
    fake_lemmy, env, capsys, monkeypatch, tmp_path
):
    monkeypatch.delenv("PICTRS_URL")
    monkeypatch.delenv("PICTRS_API_KEY")
    status, found, out = doctor(capsys)
    assert status == 0, out  # a warning: the daemon starts without it
    word, said = found["schedule"]
    assert word == "warn", out
    assert (
        "the store sweep '0 5 * * 0' UTC will not run: PICTRS_URL and PICTRS_API_KEY are not set"
        in said
    )
    assert "schedule.store_sweep_cron: off" in said  # how to say it is meant

    with_schedule(tmp_path / "rules.yaml", "{store_sweep_cron: off}")
    status, found, out = doctor(capsys)
    assert found["schedule"][0] == "ok" and found["schedule"][1].endswith("; no store sweep"), out
