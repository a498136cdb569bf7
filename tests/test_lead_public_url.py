"""The source reads bios and descriptions against the site's own address, not
LEMMY_URL (an internal name in Docker): its image proxy is this instance's."""

from __future__ import annotations


class InternalName:
    """The client as a Pipeline's session uses it, for a site whose address is not
    LEMMY_URL's."""

    api_version = "v3"
    url = "http://lemmy:8536"
    on_login = None
    can_purge_files = False
    local_image_url = None

    def restore_token(self, token: str) -> None:
        pass

    def check_session(self):
        from modbot.model import Account, SiteInfo

        account = Account(7, False, show_nsfw=True, show_bot_accounts=True, show_read_posts=True)
        return SiteInfo(version="0.19.5", account=account, public_url="https://lemmy.example")

    def close(self) -> None:
        pass


def test_the_source_takes_the_sites_own_address_at_start(tmp_path):
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret, Settings
    from modbot.pipeline import Pipeline
    from modbot.starter import shipped_rules

    settings = Settings(
        "http://lemmy:8536",
        "modbot",
        Secret("password123"),
        rules_path=shipped_rules(),
        state_path=tmp_path / "state.sqlite3",
    )
    policy = load_policy(shipped_rules())
    client = InternalName()
    with Pipeline(settings, policy, dry_run=True, client=client) as pipeline:  # type: ignore[arg-type]
        assert pipeline.source.public_url == "http://lemmy:8536"  # until the site says
        pipeline.start()
        assert pipeline.source.public_url == "https://lemmy.example"
        assert pipeline.acquirer.public_url == "https://lemmy.example"
