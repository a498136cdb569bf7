"""`modbot sweep --store` through the real entry point against the fake Lemmy + pict-rs:
every stored file, found through pict-rs' /internal/hashes, classified once, acted on
through the alias -> uploader and alias -> item indexes; resumable, dry-run, paced."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from PIL import Image
from support.bot import Bot, wait_for
from support.pictrs import store_reader

from modbot.store import Store
from modbot.store_source import StoreSource


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24 + seed, 24), (seed * 11 % 256, 80, 20)).save(out, "JPEG")
    return out.getvalue()


def store_rules(directory: Path, lemmy, checkpoint: Path, known_bad=()) -> Path:
    """Known-bad files: purged, the items showing them removed, the uploader banned. The
    rule is for stored files only, so a sweep of the listings decides but never acts."""
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: known abusive file
    priority: 100
    if: {{type: file, hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_image: true
      ban: {{scope: site, duration: permanent, remove_data: false, reason: "known abusive image"}}
""")
    return path


def file_decisions(bot: Bot) -> list[dict]:
    return [d for d in bot.decisions() if d["item"]["kind"] == "file"]


def acts(lemmy) -> list:
    """The mutating requests but the bot's own account settings (made at its first start)."""
    return [r for r in lemmy.mutating_requests() if r.path != "/api/v3/user/save_user_settings"]


def gone(lemmy, alias: str) -> bool:
    return httpx.get(f"{lemmy.pictrs_url}/image/original/{alias}").status_code == 404


@pytest.fixture
def scene(fake_lemmy, tmp_path, tiny_checkpoint, photos):
    """Files no listing shows and files only the store links to their people:
    an upload never posted (alice's), a remote image pict-rs cached for a viewer, a
    thumbnail Lemmy made for bob's post, alice's upload shown in mod's post, and a
    clean upload."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = {name: jpeg(i) for i, name in enumerate(["unposted", "cached", "thumb", "shared"])}
    unposted = lemmy.add_upload(cast.alice, bad["unposted"])
    remote = lemmy.add_remote_file("cat.jpg", bad["cached"])
    assert httpx.get(lemmy.proxy_url(remote)).status_code == 200  # a viewer's request
    thumb = lemmy.add_thumbnail(bad["thumb"])
    bobs = lemmy.add_post(cast.pics, cast.bob, name="link", thumbnail_url=thumb.url)
    shared = lemmy.add_upload(cast.alice, bad["shared"])
    mods = lemmy.add_post(cast.pics, cast.mod, name="look", url=shared.url)
    clean = lemmy.add_upload(cast.alice, photos["astronaut"])
    bot = Bot(
        lemmy, tmp_path, store_rules(tmp_path, lemmy, tiny_checkpoint, map(sha, bad.values()))
    )
    return lemmy, cast, bot, bad, locals()


def test_store_sweep_finds_purges_removes_and_bans_by_the_indexes(scene):
    lemmy, cast, bot, bad, s = scene
    bot("sweep", "--all")  # the listings: decided (the bot has seen the posts), no action
    assert acts(lemmy) == []
    lemmy.clear_requests()
    done = bot("sweep", "--store", "--files-per-second", "0")
    assert "store sweep" in done.stdout and "done: 5 of 5 stored files walked" in done.stdout

    decisions = {d["image"]["sha256"]: d for d in file_decisions(bot)}
    assert len(file_decisions(bot)) == 5  # one per stored file, clean included
    clean = next(d for d in file_decisions(bot) if d["rule"] is None)
    assert clean["image"]["alias"] == s["clean"].alias and clean["image"]["location"] == "store"

    # every bad file is gone from pict-rs, the clean one stays
    for upload in (s["unposted"], s["thumb"], s["shared"]):
        assert gone(lemmy, upload.alias)
    cached_alias = lemmy.state.alias_of_proxy(s["remote"])
    assert cached_alias is None and lemmy.state.proxied[s["remote"]] is None
    assert lemmy.image_exists(s["clean"].alias)

    def actions(name: str) -> dict[str, dict]:
        return {a["action"]: a for a in decisions[sha(bad[name])]["actions"]}

    # an upload never posted: purged, its uploader banned (once: alice's other upload,
    # newer, was walked first and banned her already)
    assert actions("unposted")["purge_image"]["status"] == "done"
    assert actions("shared")["ban"]["status"] == "done"
    assert "(as uploader)" in actions("shared")["ban"]["detail"]
    assert actions("unposted")["ban"]["status"] == "skipped"
    assert actions("unposted")["ban"]["detail"].startswith("already done: ban ")
    assert actions("unposted")["remove"]["status"] == "skipped"  # no item shows it
    # alice's upload in mod's post: the uploader (alice) banned; the post, mod's in the
    # community they moderate, stays (the rule exempts moderators: exempt.moderators)
    assert not lemmy.post(s["mods"].id).removed and not lemmy.person(cast.mod.id).banned
    assert (
        f"post {s['mods'].id}: the author moderates its community"
        in actions("shared")["remove"]["detail"]
    )
    assert lemmy.person(cast.alice.id).banned
    # Lemmy's thumbnail of bob's post: no uploader, so the post's creator, and it says so
    assert lemmy.post(s["bobs"].id).removed and lemmy.person(cast.bob.id).banned
    assert (
        f"(as creator of post {s['bobs'].id}, no uploader known)"
        in actions("thumb")["ban"]["detail"]
    )
    # the cached remote image: purged; nobody known to ban
    assert actions("cached")["purge_image"]["status"] == "done"
    assert actions("cached")["ban"] == {
        "action": "ban",
        "status": "skipped",
        "detail": "the author is unknown",
    }
    purges = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert len(purges) == 4  # one per bad file, never twice

    # a second store sweep finds nothing new and sends nothing
    lemmy.clear_requests()
    again = bot("sweep", "--store")
    assert lemmy.mutating_requests() == [] and "0 items" in again.stdout


def test_store_sweep_dry_run_sends_nothing(scene):
    lemmy, _cast, bot, _bad, s = scene
    bot("sweep", "--all", "--dry-run")
    out = bot.directory / "store.json"
    done = bot("sweep", "--store", "--dry-run", "--files-per-second", "0", "--report", str(out))
    assert lemmy.mutating_requests() == []
    assert "(dry-run) done" in done.stdout
    summary = json.loads(out.read_text())["summary"]
    assert summary["by_location"] == {"store": 5} and summary["dry_run"] is True
    assert summary["by_action"]["purge_image"] == {"planned": 4}
    planned = [a for d in file_decisions(bot) for a in d["actions"] if a["status"] == "planned"]
    assert {a["action"] for a in planned} == {"purge_image", "remove", "ban"}
    assert all(lemmy.image_exists(u.alias) for u in (s["unposted"], s["thumb"], s["shared"]))


def test_store_sweep_without_pictrs_access_says_what_to_set(scene):
    lemmy, _cast, bot, _bad, _s = scene
    del bot.env["PICTRS_URL"], bot.env["PICTRS_API_KEY"]
    lemmy.clear_requests()
    failed = bot("sweep", "--store", rc=1)
    assert "PICTRS_URL and PICTRS_API_KEY" in failed.stderr and lemmy.requests == []


def test_store_sweep_killed_resumes_without_classifying_again(
    fake_lemmy,
    tmp_path,
    tiny_checkpoint,
):
    lemmy = fake_lemmy
    files = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(12)]
    bot = Bot(lemmy, tmp_path, store_rules(tmp_path, lemmy, tiny_checkpoint))
    lemmy.delay("/pictrs/image/*", 0.4)  # downloads are slow: the kill lands mid-walk
    child = bot.start("sweep", "--store", "--page-size", "3", "--files-per-second", "0")
    try:
        wait_for(lambda: len(file_decisions(bot)) >= 4, timeout=180, what="some files done")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    first = {d["image"]["alias"] for d in file_decisions(bot)}
    assert 4 <= len(first) < len(files)
    lemmy.delay("/pictrs/image/*", 0)
    lemmy.clear_requests()
    store = Store(bot.state)
    assert store.get_cursor("live:store_sweep") is not None  # the position was kept
    store.close()
    done = bot("sweep", "--store", "--page-size", "3", "--files-per-second", "0")
    assert "done: 12 of 12 stored files walked" in done.stdout
    decided = [d["image"]["alias"] for d in file_decisions(bot)]
    assert sorted(decided) == sorted(f.alias for f in files)  # each file once
    fetched = {r.path.rsplit("/", 1)[-1] for r in lemmy.requests if r.path.startswith("/pictrs/")}
    assert not fetched & first  # what the killed run finished is neither fetched nor decided
    listing = [r for r in lemmy.requests if r.path == "/internal/hashes"]
    assert "slug" in listing[0].query  # resumed at the saved page, no counting pass again


def test_store_walk_is_paced(fake_lemmy, tmp_path):
    lemmy = fake_lemmy
    for i in range(6):
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    client = store_reader(lemmy)
    store = Store(tmp_path / "state.sqlite3")
    try:
        naps: list[float] = []
        source = StoreSource(
            client,
            store,
            scope="dry-run",
            page_size=2,
            files_per_second=2.0,
            clock=lambda: 0.0,
            sleep=naps.append,
        )
        walked = [item for batch in source.batches() for item in batch]
        assert len(walked) == 6 and source.total == 6 and source.done == 6
        assert naps == [1.0, 2.0]  # 2, then 4 files at 2/s on a stopped clock
        assert not source.in_progress()
    finally:
        store.close()


def test_store_walk_goes_on_by_time_when_its_page_vanished(fake_lemmy, tmp_path):
    """pict-rs restarts at the newest page when asked for a slug whose file was purged
    meanwhile: the walk goes on by time from the last file it finished, and walks no
    file twice."""
    lemmy = fake_lemmy
    uploads = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(6)]
    client = store_reader(lemmy)
    store = Store(tmp_path / "state.sqlite3")
    try:
        source = StoreSource(client, store, scope="dry-run", page_size=2, files_per_second=0)
        walk = source.batches()
        first = next(walk)
        assert [i.upload.alias for i in first] == [u.alias for u in uploads[5:3:-1]]
        for item in first:  # recorded, as the pipeline does
            store.mark_seen("dry-run", item.kind, item.id, item.updated)
        # the next page would start at uploads[3]: purged meanwhile (not by this walk)
        lemmy.purge_alias(uploads[3].alias)
        rest = [item.upload.alias for batch in walk for item in batch]
        assert rest == [u.alias for u in (uploads[2], uploads[1], uploads[0])]
        hashes = [r for r in lemmy.requests if r.path == "/internal/hashes"]
        assert any("timestamp" in r.query for r in hashes)  # gone on by time
        assert not source.in_progress()
    finally:
        store.close()


def test_a_known_bad_avatar_and_community_icon_are_found_and_acted_on(
    fake_lemmy,
    tmp_path,
    tiny_checkpoint,
):
    """Profile images are ordinary uploads in pict-rs: no post shows them, the store
    sweep finds them, purges them, and bans who uploaded them."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    avatar = lemmy.add_upload(cast.alice, jpeg(1))
    lemmy.person(cast.alice.id).avatar = avatar.url
    icon = lemmy.add_upload(cast.mod, jpeg(2))
    lemmy.community(cast.pics.id).icon = icon.url
    bot = Bot(
        lemmy, tmp_path, store_rules(tmp_path, lemmy, tiny_checkpoint, [sha(jpeg(1)), sha(jpeg(2))])
    )
    bot("sweep", "--store", "--files-per-second", "0")
    assert gone(lemmy, avatar.alias) and gone(lemmy, icon.alias)
    assert lemmy.person(cast.alice.id).banned and lemmy.person(cast.mod.id).banned
    bans = [a for d in file_decisions(bot) for a in d["actions"] if a["action"] == "ban"]
    assert [b["status"] for b in bans] == ["done", "done"]
    assert all("(as uploader)" in b["detail"] for b in bans)
