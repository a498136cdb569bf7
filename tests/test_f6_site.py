"""The fake 0.19's and 1.0's GET /site: the site's custom emojis (0.19) and sidebar."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import CustomEmoji, now
from modbot.config.settings import Secret
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def _emoji(lemmy, id: int, url: str, category: str = "") -> None:
    with lemmy.state.lock:
        lemmy.state.custom_emojis.append(
            CustomEmoji(id, f"e{id}", url, now(), f"e{id}", category, keywords=["k"])
        )


def test_0_19_lists_the_sites_custom_emojis_in_site():
    with FakeLemmy() as lemmy:
        standard_cast(lemmy)
        _emoji(lemmy, 2, f"{lemmy.url}/pictrs/image/b.png", "b")
        _emoji(lemmy, 1, f"{lemmy.url}/pictrs/image/a.png", "b")
        _emoji(lemmy, 3, f"{lemmy.url}/pictrs/image/c.png", "a")
        site = httpx.get(f"{lemmy.url}/api/v3/site", timeout=10).json()
        views = site["custom_emojis"]
        assert [v["custom_emoji"]["id"] for v in views] == [3, 1, 2]  # category, then id
        assert views[0]["keywords"] == [{"custom_emoji_id": 3, "keyword": "k"}]
        client = LemmyClient(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        assert client.site_info().custom_emoji_urls == {
            f"{lemmy.url}/pictrs/image/{n}.png" for n in "abc"
        }


@pytest.mark.parametrize("version", ["0.19", "1.0"])
def test_the_sites_sidebar_is_in_site_and_read_by_modbot(version):
    with FakeLemmy(version=version) as lemmy:
        standard_cast(lemmy)
        lemmy.set_sidebar("welcome ![a](https://x.example/a.png)")
        kind = LemmyClient if version == "0.19" else LemmyClientV4
        client = kind(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
        sidebar = client.site_info().sidebar
        if version == "0.19":
            assert sidebar == "welcome ![a](https://x.example/a.png)"
        else:  # stored with its images behind the instance's proxy, as 1.0 does
            proxy = f"{lemmy.url}/api/v4/image/proxy?url=https%3A%2F%2Fx.example%2Fa.png"
            assert sidebar == f"welcome ![a]({proxy})"
