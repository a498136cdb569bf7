"""`modbot sweep --store` never purges a remote image the site or an admin shows that
the instance's pict-rs cached for a viewer (``ProxyAllImages``): its alias is pict-rs'
own, written nowhere in the sidebar or the profile, which show the remote URL or the
instance's image proxy link. ``read_admins`` asks pict-rs which alias it cached each
such URL under (``GET /internal/aliases?proxy=``)."""

from __future__ import annotations

import httpx
import pytest
from support.bot import Bot
from test_store_sweep import acts, file_decisions, gone, jpeg, sha, store_rules

ADMINS = "exempt: the author is an admin"


@pytest.mark.both_lemmys
def test_store_sweep_spares_remote_images_the_site_and_admins_show(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = {name: jpeg(i) for i, name in enumerate(["sidebar", "avatar", "bio", "bobs"], 1)}
    remote = {name: lemmy.add_remote_file(f"{name}.jpg", bad[name]) for name in bad}
    sidebar = lemmy.proxy_url(remote["sidebar"])  # as Lemmy rewrites it (ProxyAllImages)
    lemmy.site.sidebar = f"Welcome ![rules]({sidebar})"
    admin = lemmy.person(cast.admin.id)
    admin.avatar = lemmy.proxy_url(remote["avatar"])
    admin.bio = f"me ![hike]({remote['bio']})"  # the remote URL as written
    lemmy.proxy_url(remote["bio"])
    for name in bad:  # a viewer's request: pict-rs caches each under an alias of its own
        assert httpx.get(lemmy.proxy_url(remote[name])).status_code == 200
    bot = Bot(
        lemmy, tmp_path, store_rules(tmp_path, lemmy, tiny_checkpoint, map(sha, bad.values()))
    )

    done = bot("sweep", "--store", "--files-per-second", "0")
    assert "done: 4 of 4 stored files walked" in done.stdout
    decided = {d["image"]["sha256"]: d for d in file_decisions(bot)}
    for name in ("sidebar", "avatar", "bio"):
        decision = decided[sha(bad[name])]
        assert decision["actions"] == [], (name, decision["actions"])
        assert decision["exempt"] == "the author is an admin"
        assert {m["outcome"] for m in decision["matched"]} == {ADMINS}
        assert not gone(lemmy, lemmy.state.alias_of_proxy(remote[name]))
    assert decided[sha(bad["avatar"])]["item"]["author_id"] == cast.admin.id
    assert decided[sha(bad["sidebar"])]["item"]["author_is_admin"] is True
    # the rule still acts on a cached remote image no admin shows
    assert lemmy.state.alias_of_proxy(remote["bobs"]) is None
    purges = [r for r in acts(lemmy) if r.path == "/internal/purge"]
    assert len(purges) == 1


def test_client_finds_the_alias_pict_rs_cached_a_remote_image_under(fake_lemmy, photos):
    from test_pictrs_internal import bot

    url = fake_lemmy.add_remote_file("x.jpg", photos["china"])
    client = bot(fake_lemmy, read_only=True)  # a read: fine in a dry run
    assert client.proxied_aliases(url) == []  # not cached yet: 404 proxy-not-found
    assert httpx.get(fake_lemmy.proxy_url(url)).status_code == 200
    cached = fake_lemmy.state.alias_of_proxy(url)
    assert cached is not None and client.proxied_aliases(url) == [cached]
    assert client.proxied_aliases("not a url") == []
    assert not [r for r in fake_lemmy.mutating_requests() if r.server == "pictrs"]
