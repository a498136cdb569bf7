"""`modbot doctor` with a settings problem (LEMMY_PASSWORD missing) still checks the
schedule, but said "the store sweep will not run: PICTRS_URL and PICTRS_API_KEY are not
set" though both were set: the admin was sent to fix what was right. Now the schedule
goes by the pict-rs variables as set."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LEMMY_PASSWORD", raising=False)


def schedule_line(capsys) -> str:
    assert main(["--env-file", "/dev/null", "doctor", "--timeout", "3"]) == 1
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.split()[1:2] == ["schedule"]]
    assert len(lines) == 1, out
    return lines[0]


def test_the_schedule_goes_by_the_pictrs_variables_set(fake_lemmy, env, capsys, monkeypatch):
    monkeypatch.setenv("PICTRS_URL", fake_lemmy.pictrs_url)
    monkeypatch.setenv("PICTRS_API_KEY", "a-pictrs-api-key-of-the-test")
    said = schedule_line(capsys)
    assert said.startswith("ok") and "store sweep '0 5 * * 0' UTC (next" in said, said
    assert "not set" not in said
    assert fake_lemmy.requests == []


def test_without_them_it_still_says_the_store_sweep_will_not_run(
    fake_lemmy, env, capsys, monkeypatch
):
    monkeypatch.delenv("PICTRS_URL", raising=False)
    monkeypatch.delenv("PICTRS_API_KEY", raising=False)
    said = schedule_line(capsys)
    assert said.startswith("warn") and "PICTRS_URL and PICTRS_API_KEY are not set" in said


def test_the_workers_are_asked_with_the_token_set(
    fake_lemmy, tiny, worker, env, capsys, monkeypatch, tmp_path
):
    """classifier.remote's workers were asked without MODBOT_CLASSIFIER_TOKEN, though it
    was set: each refused, and doctor said no worker answers."""
    import re

    from support.worker import TOKEN

    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    rules = tmp_path / "rules.yaml"
    text = rules.read_text()
    remote = f'{{allow_random_weights: true, remote: {{urls: ["{worker.url}"]}}}}'
    rules.write_text(re.sub(r"classifier: \{[^}]*\}\n", f"classifier: {remote}\n", text))
    assert main(["--env-file", "/dev/null", "doctor", "--timeout", "3"]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["classifier"]]
    assert not line.startswith("FAIL"), out
    assert "RANDOM WEIGHTS" in line and "workers answer" in line, line
    assert TOKEN not in out
