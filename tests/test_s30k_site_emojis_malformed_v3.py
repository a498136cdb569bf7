"""Lemmy 0.19 sends the site's custom emojis in ``GET /site``, the answer that also says
who the bot is. A malformed emoji entry (a null, an emoji that is not an object, a URL
that is not a string) failed the whole session: the bot would not start. The emojis
only spare the site's own images from being judged: such an entry is left out, as
the 1.0 client does."""

from __future__ import annotations

from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient


def test_a_malformed_custom_emoji_is_left_out_and_the_session_starts(fake_lemmy):
    lemmy = fake_lemmy
    good = {"custom_emoji": {"image_url": f"{lemmy.url}/pictrs/image/smile.png"}}

    def spoil(body):
        odd = [None, {"custom_emoji": "x"}, {"custom_emoji": {"image_url": 5}}]
        return {**body, "custom_emojis": [*odd, good]}

    lemmy.tamper("/api/v3/site", spoil)
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        site = client.check_session()
        assert site.account is not None and site.account.admin
        assert site.custom_emoji_urls == {f"{lemmy.url}/pictrs/image/smile.png"}
        lemmy.tamper("/api/v3/site", lambda body: {**body, "custom_emojis": 5})
        assert client.check_session().custom_emoji_urls == frozenset()
    finally:
        client.close()
