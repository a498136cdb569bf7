"""A stand-in for the Lemmy client as far as a Pipeline's session uses it: the account
and site ``check_session`` answers, nothing else."""

from __future__ import annotations

from typing import Any


class SessionClient:
    """``check_session`` answers a SiteInfo of an account that is (or is not) an admin,
    with the site's fields given as keywords."""

    api_version = "v3"
    on_login = None
    can_purge_files = False
    local_image_url = None

    def __init__(self, url: str = "http://lemmy.example", *, admin: bool = False, **site: Any):
        self.url, self.admin, self.site = url, admin, site

    def restore_token(self, token: str) -> None:
        pass

    def check_session(self):
        from modbot.model import Account, SiteInfo

        account = Account(
            7, self.admin, show_nsfw=True, show_bot_accounts=True, show_read_posts=True
        )
        return SiteInfo(version="0.19.5", account=account, **self.site)

    def close(self) -> None:
        pass


def shipped_pipeline(tmp_path: Any, client: SessionClient, *, dry_run: bool):
    """A Pipeline with the shipped rules over ``client`` (a context manager), its state
    in ``tmp_path``, LEMMY_URL the client's URL."""
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.starter import shipped_rules

    settings = Settings(
        client.url,
        "modbot",
        Secret("password123"),
        rules_path=shipped_rules(),
        state_path=tmp_path / "state.sqlite3",
    )
    return Pipeline(settings, load_policy(shipped_rules()), dry_run=dry_run, client=client)  # type: ignore[arg-type]
