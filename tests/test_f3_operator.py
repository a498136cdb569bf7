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


class NotAnAdmin:
    """The client as far as a Pipeline's session uses it: an account with no admin."""

    api_version = "v3"
    on_login = None
    can_purge_files = False
    local_image_url = None

    def restore_token(self, token: str) -> None:
        pass

    def check_session(self):
        from modbot.model import Account, SiteInfo

        account = Account(7, False, show_nsfw=True, show_bot_accounts=True, show_read_posts=True)
        return SiteInfo(version="0.19.5", account=account)

    def close(self) -> None:
        pass


def test_a_run_as_a_non_admin_names_the_rules_lemmy_will_refuse(tmp_path):
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.starter import shipped_rules

    settings = Settings(
        "http://lemmy.example",
        "modbot",
        Secret("password123"),
        state_path=tmp_path / "state.sqlite3",
    )
    policy = load_policy(shipped_rules())
    with Pipeline(settings, policy, dry_run=False, client=NotAnAdmin()) as pipeline:  # type: ignore[arg-type]
        pipeline.start()
        (said,) = pipeline.warnings
    assert "'modbot' is not an admin" in said
    assert "will fail: 'known abusive image' (site ban)" in said
    assert "Make the account an admin" in said


def test_reloaded_rules_change_which_rules_the_warning_names(tmp_path):
    import dataclasses

    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.starter import shipped_rules

    settings = Settings(
        "http://lemmy.example",
        "modbot",
        Secret("password123"),
        state_path=tmp_path / "state.sqlite3",
    )
    policy = load_policy(shipped_rules())
    with Pipeline(settings, policy, dry_run=True, client=NotAnAdmin()) as pipeline:  # type: ignore[arg-type]
        assert pipeline.session.needs_admin == ["'known abusive image' (site ban)"]
        assert pipeline.reload(dataclasses.replace(policy, rules=[])) is None
        assert pipeline.session.needs_admin == []
