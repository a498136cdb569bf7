"""What the operator sees on the terminal: no secret in an error, no noise at INFO."""

from __future__ import annotations

import pytest
from support.session_client import SessionClient, shipped_pipeline

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


def test_a_run_as_a_non_admin_names_the_rules_lemmy_will_refuse(tmp_path):
    with shipped_pipeline(tmp_path, SessionClient(), dry_run=False) as pipeline:
        pipeline.start()
        (said,) = pipeline.warnings
    assert "'modbot' is not an admin" in said
    assert "will fail: 'known abusive image' (site ban)" in said
    assert "Make the account an admin" in said


def test_reloaded_rules_change_which_rules_the_warning_names(tmp_path):
    import dataclasses

    with shipped_pipeline(tmp_path, SessionClient(), dry_run=True) as pipeline:
        policy = pipeline.policy
        assert pipeline.session.needs_admin == ["'known abusive image' (site ban)"]
        assert pipeline.reload(dataclasses.replace(policy, rules=[])) is None
        assert pipeline.session.needs_admin == []
