"""Avatars, banners, community icons and banners and the site's images as items of their
own (`type: avatar`, ...), found where Lemmy shows them (the creators and communities of
what the bot reads, the site), scanned when new or changed, acted on by rule; through
`python -m modbot` against the fake Lemmy + pict-rs."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from support.bot import Bot

from fakelemmy.state import now
from modbot.config.checks import never_acts
from modbot.config.policy import load_policy


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30 + seed, 30), (seed * 13 % 256, 40, 90)).save(out, "JPEG")
    return out.getvalue()


def profile_rules(
    directory: Path, checkpoint: Path, known_bad=(), remote: str = "", rules: str = ""
) -> Path:
    fetch = f"fetch: {{allow_hosts: [{remote!r}]}}" if remote else ""
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
{fetch}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
{rules}
  - name: known abusive profile image
    priority: 100
    if: {{type: [avatar, banner], hash_list: known-bad}}
    then:
      purge_image: true
      ban: {{scope: site, duration: permanent, reason: "known abusive avatar"}}
  - name: known abusive community image
    if: {{type: [community_icon, community_banner, site_icon, site_banner], hash_list: known-bad}}
    then:
      purge_image: true
      notify_admins: "{{{{type}}}} on the known-bad list"
""")
    return path


def acts(lemmy) -> list:
    return [r for r in lemmy.mutating_requests() if r.path != "/api/v3/user/save_user_settings"]


def profile_decisions(bot: Bot, kind: str = "avatar") -> list[dict]:
    return [d for d in bot.decisions() if d["item"]["kind"] == kind]


@pytest.fixture
def scene(fake_lemmy, tmp_path, tiny_checkpoint):
    """alice's avatar is a known-bad upload; she posts a harmless text post."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = jpeg(1)
    avatar = lemmy.add_upload(cast.alice, bad)
    lemmy.set_images(cast.alice, avatar=avatar.url)
    lemmy.add_post(cast.pics, cast.alice, name="hello", body="just text")
    bot = Bot(lemmy, tmp_path, profile_rules(tmp_path, tiny_checkpoint, [sha(bad)]))
    return lemmy, cast, bot, avatar


@pytest.mark.both_lemmys
def test_a_known_bad_avatar_is_purged_and_its_person_banned(scene):
    lemmy, cast, bot, avatar = scene
    bot("run", "--once")
    [decision] = profile_decisions(bot)
    assert decision["rule"] == "known abusive profile image"
    assert decision["item"]["id"] == cast.alice.id
    assert decision["item"]["url"] == f"{lemmy.url}/u/alice"  # her page, for a moderator
    assert decision["image"]["location"] == "profile"
    assert decision["image"]["alias"] == avatar.alias
    outcome = {a["action"]: a for a in decision["actions"]}
    assert outcome["purge_image"]["status"] == "done"
    assert outcome["ban"]["status"] == "done"
    assert httpx.get(f"{lemmy.pictrs_url}/image/original/{avatar.alias}").status_code == 404
    assert lemmy.person(cast.alice.id).banned
    # the post itself was looked at and left alone
    assert not lemmy.post(1).removed


def test_dry_run_of_a_bad_avatar_sends_nothing(scene):
    lemmy, cast, bot, avatar = scene
    lemmy.clear_requests()
    bot("run", "--once", "--dry-run")
    [decision] = profile_decisions(bot)
    assert {a["action"]: a["status"] for a in decision["actions"]} == {
        "purge_image": "planned",
        "ban": "planned",
    }
    assert acts(lemmy) == []
    assert lemmy.image_exists(avatar.alias) and not lemmy.person(cast.alice.id).banned


@pytest.mark.slow
def test_a_changed_avatar_is_scanned_again_an_unchanged_one_not(
    fake_lemmy, tmp_path, photos, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first = lemmy.add_upload(cast.alice, photos["astronaut"])
    lemmy.set_images(cast.alice, avatar=first.url)
    lemmy.add_post(cast.pics, cast.alice, name="one", body="text")
    bad = jpeg(2)
    bot = Bot(lemmy, tmp_path, profile_rules(tmp_path, tiny_checkpoint, [sha(bad)]))
    bot("run", "--once")
    assert [d["image"]["alias"] for d in profile_decisions(bot)] == [first.alias]
    # a new post by her, same avatar: the avatar is not looked at again
    lemmy.add_post(cast.pics, cast.alice, name="two", body="text")
    bot("run", "--once")
    assert len(profile_decisions(bot)) == 1
    # she changes her avatar to a known-bad image: a new item, scanned and acted on
    second = lemmy.add_upload(cast.alice, bad)
    lemmy.set_images(cast.alice, avatar=second.url)
    lemmy.add_post(cast.pics, cast.alice, name="three", body="text")
    bot("run", "--once")
    decisions = profile_decisions(bot)
    assert [d["image"]["alias"] for d in decisions] == [first.alias, second.alias]
    assert decisions[-1]["rule"] == "known abusive profile image"
    assert not lemmy.image_exists(second.alias) and lemmy.image_exists(first.alias)
    assert lemmy.person(cast.alice.id).banned


def test_a_remote_avatar_cannot_be_purged_and_the_admins_are_told(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    """bob (remote.example) has a known-bad avatar on his own server: nothing to purge
    here, recorded as such, the admins told; he is banned."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = jpeg(3)
    url = lemmy.add_remote_file("bob-avatar.jpg", bad)
    lemmy.set_images(cast.bob, avatar=url)
    lemmy.add_post(cast.pics, cast.bob, name="hi", body="text")
    host = url.split("//", 1)[1].split("/", 1)[0]
    rules = profile_rules(tmp_path, tiny_checkpoint, [sha(bad)], remote=host)
    bot = Bot(lemmy, tmp_path, rules, pictrs=False)
    bot("run", "--once")
    [decision] = profile_decisions(bot)
    outcome = {a["action"]: a for a in decision["actions"]}
    assert outcome["purge_image"]["status"] == "not_possible"
    assert "remote image" in outcome["purge_image"]["detail"]
    assert outcome["ban"]["status"] == "done" and lemmy.person(cast.bob.id).banned
    told = [m.content for m in lemmy.private_messages if "cannot purge a remote image" in m.content]
    assert told


def test_community_and_site_images_are_scanned_by_the_sweep(fake_lemmy, tmp_path, tiny_checkpoint):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    icon_bytes, site_bytes = jpeg(4), jpeg(5)
    icon = lemmy.add_upload(cast.mod, icon_bytes)
    lemmy.set_images(cast.pics, icon=icon.url)
    site_icon = lemmy.add_upload(cast.admin, site_bytes)
    lemmy.site.icon = site_icon.url
    lemmy.add_post(cast.pics, cast.alice, name="post", body="text")
    rules = profile_rules(tmp_path, tiny_checkpoint, [sha(icon_bytes), sha(site_bytes)])
    bot = Bot(lemmy, tmp_path, rules)
    bot("sweep", "--all")
    [community] = profile_decisions(bot, "community_icon")
    assert community["item"]["id"] == cast.pics.id and community["item"]["community"]
    assert {a["action"]: a["status"] for a in community["actions"]}["purge_image"] == "done"
    assert not lemmy.image_exists(icon.alias)
    [site] = profile_decisions(bot, "site_icon")
    # the site's icon is an admin's upload: never acted on
    assert {a["action"]: a["status"] for a in site["actions"]}["purge_image"] == "skipped"


@pytest.mark.both_lemmys
def test_a_community_nobody_posted_in_is_found_by_the_deep_poll_and_the_sweep(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    """A community is found through the posts in it, and through the community list: a
    new empty one's known-bad icon by `run --once` (a deep poll reads the newest page of
    communities), an older one's banner by `sweep --all` (every community). Neither is
    looked at again."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    icon_bytes, banner_bytes = jpeg(6), jpeg(7)
    icon = lemmy.add_upload(cast.mod, icon_bytes)
    empty = lemmy.add_community("empty", icon=icon.url)
    rules = profile_rules(tmp_path, tiny_checkpoint, [sha(icon_bytes), sha(banner_bytes)])
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once")
    [found] = profile_decisions(bot, "community_icon")
    assert found["item"]["id"] == empty.id
    assert found["rule"] == "known abusive community image"
    assert {a["action"]: a["status"] for a in found["actions"]}["purge_image"] == "done"
    assert not lemmy.image_exists(icon.alias)

    # an older community, behind a page of newer ones: the sweep's to find
    banner = lemmy.add_upload(cast.mod, banner_bytes)
    old = lemmy.add_community("old", banner=banner.url, published=now() - timedelta(days=3))
    for i in range(55):
        lemmy.add_community(f"filler{i}")
    bot("run", "--once")
    assert profile_decisions(bot, "community_banner") == []
    bot("sweep", "--all")
    [swept] = profile_decisions(bot, "community_banner")
    assert swept["item"]["id"] == old.id
    assert {a["action"]: a["status"] for a in swept["actions"]}["purge_image"] == "done"
    assert not lemmy.image_exists(banner.alias)
    assert len(profile_decisions(bot, "community_icon")) == 1, "not looked at again"


def test_a_sweep_reads_communities_up_to_0_19s_page_cap(tmp_path, caplog):
    """More communities than Lemmy 0.19.15+ lists (100 pages of 50): the walk reads
    pages 1 to 100, newest first, and says the older ones were not listed, instead of
    failing the sweep on Lemmy's 400 for page 101."""
    import logging

    from support.acting import fake_lemmy

    from modbot.config.settings import Secret
    from modbot.lemmy import LemmyClient
    from modbot.source import Source
    from modbot.store import Store

    lemmy = fake_lemmy()  # no rate limit: 100 pages in a row
    store = Store(tmp_path / "state.sqlite3")
    try:
        start = now() - timedelta(days=10)
        for i in range(5020):
            lemmy.add_community(
                f"c{i}", icon=f"{lemmy.remote_url}/c{i}.png", published=start + timedelta(seconds=i)
            )
        client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        with caplog.at_level(logging.WARNING, logger="modbot.lemmy"):
            walked = [i for batch in Source(client, store, scope="dry-run").walk() for i in batch]
        listed = sorted(
            lemmy.state.communities.values(), key=lambda c: (c.published, c.id), reverse=True
        )[:5000]
        icons = {i.id for i in walked if i.kind == "community_icon"}
        assert icons == {c.id for c in listed if c.icon}
        pages = [r for r in lemmy.requests if r.path == "/api/v3/community/list"]
        assert [int(r.query["page"]) for r in pages] == list(range(1, 101))
        assert {r.status for r in pages} == {200}
        assert "lists no further than page 100" in caplog.text
    finally:
        store.close()
        lemmy.stop()


def test_check_rules_knows_the_new_kinds(tmp_path, tiny_checkpoint):
    path = profile_rules(tmp_path, tiny_checkpoint)
    policy = load_policy(path)
    assert all(never_acts(rule) is None for rule in policy.rules)
    text = path.read_text().replace("type: [avatar, banner]", "type: avatr")
    path.write_text(text)
    with pytest.raises(Exception) as failed:
        load_policy(path)
    assert "avatar" in str(getattr(failed.value, "problems", failed.value))


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_the_store_sweep_bans_the_person_whose_cached_avatar_a_file_is(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    """Lemmy 1.0 shows a remote avatar through its image proxy: pict-rs caches the file,
    which has no uploader and no post showing it; the store sweep finds whose it is by
    the avatar the bot recorded."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = jpeg(6)
    original = lemmy.add_remote_file("bob-face.jpg", bad)
    lemmy.set_images(cast.bob, avatar=original)
    lemmy.add_post(cast.pics, cast.bob, name="hi", body="text")
    host = original.split("//", 1)[1].split("/", 1)[0]
    path = profile_rules(
        tmp_path,
        tiny_checkpoint,
        [sha(bad)],
        remote=host,
        rules="""  - name: known abusive file
    priority: 200
    if: {type: file, hash_list: known-bad}
    then: {ban: {scope: site, duration: permanent}}
  - name: avatars left alone
    priority: 200
    if: {type: avatar, hash_list: known-bad}
    then: {remove: true}""",
    )
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")
    [avatar] = profile_decisions(bot)
    assert avatar["image"]["sha256"] == sha(bad)
    # the bot fetched the original; a viewer's page has pict-rs cache it
    assert httpx.get(avatar["image"]["url"]).status_code == 200
    bot("sweep", "--store", "--files-per-second", "0")
    files = profile_decisions(bot, "file")
    assert files, [(d["item"]["kind"], d["skipped"], d["actions"]) for d in bot.decisions()]
    [stored] = [d for d in files if d["image"]["sha256"] == sha(bad)]
    ban = {a["action"]: a for a in stored["actions"]}["ban"]
    assert ban["status"] == "done", ban
    assert "(as person whose avatar it is, no uploader known)" in ban["detail"]
    assert lemmy.person(cast.bob.id).banned
