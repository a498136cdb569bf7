"""A run as an account that is not an admin says which rules will fail for it."""

from __future__ import annotations

from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.model import Account, SiteInfo
from modbot.session import Session, admin_rules
from modbot.starter import shipped_rules
from modbot.store import Store


class NotAnAdmin:
    """The client as far as Session uses it: a session of an account with no admin."""

    api_version = "v3"
    on_login = None

    def restore_token(self, token: str) -> None:
        pass

    def check_session(self) -> SiteInfo:
        account = Account(7, False, show_nsfw=True, show_bot_accounts=True, show_read_posts=True)
        return SiteInfo(version="0.19.5", account=account)


def warnings_of(tmp_path, *, dry_run: bool, needs_admin: list[str]) -> list[str]:
    said: list[str] = []
    settings = Settings("http://lemmy.example", "modbot", Secret("password123"))
    store = Store(tmp_path / f"state-{dry_run}.sqlite3")
    try:
        session = Session(
            NotAnAdmin(),  # type: ignore[arg-type]
            store,
            settings,
            dry_run=dry_run,
            warn=said.append,
            needs_admin=needs_admin,
        )
        assert session.start() and not session.admin
    finally:
        store.close()
    return said


def test_the_non_admin_warning_names_the_rules_lemmy_will_refuse(tmp_path):
    rules = admin_rules(load_policy(shipped_rules()))
    assert rules == ["'known abusive image' (site ban)"]
    (live,) = warnings_of(tmp_path, dry_run=False, needs_admin=rules)
    assert "'modbot' is not an admin" in live
    assert (
        "these rules ask what Lemmy refuses a non-admin (not_an_admin) and will fail: "
        "'known abusive image' (site ban)"
    ) in live
    assert "Make the account an admin" in live
    (dry,) = warnings_of(tmp_path, dry_run=True, needs_admin=rules)
    assert "would fail in a live run: 'known abusive image' (site ban)" in dry
    # no rule needs an admin: what is out of reach, and no rule named
    (plain,) = warnings_of(tmp_path, dry_run=False, needs_admin=[])
    assert plain.endswith("are out of reach; those actions will fail")


def test_an_account_made_admin_while_the_bot_runs_is_seen_at_the_next_check(tmp_path):
    """The warning asks to make the account an admin: once done, the next session
    check sees it (uploads are listed), without a restart."""
    from datetime import timedelta

    class MadeAdmin(NotAnAdmin):
        admin = False

        def check_session(self) -> SiteInfo:
            account = Account(7, self.admin, True, True, True)
            return SiteInfo(version="0.19.5", account=account)

    said: list[str] = []
    client = MadeAdmin()
    store = Store(tmp_path / "state.sqlite3")
    try:
        settings = Settings("http://lemmy.example", "modbot", Secret("password123"))
        session = Session(
            client,  # type: ignore[arg-type]
            store,
            settings,
            dry_run=False,
            warn=said.append,
            check_every=timedelta(0),
        )
        assert session.start() and not session.admin
        client.admin = True
        assert session.start() and session.admin
        client.admin = False
        assert session.start() and not session.admin
        assert "is no longer an admin" in said[-1]
    finally:
        store.close()
