"""Whose file is it: `ban: {uploader: true}` also bans the person who uploaded the image
a post shows, when someone else posted it, and the audit says so (`modbot run --once`
against the fake Lemmy + pict-rs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from support.bot import Bot
from support.removal import outcomes, rules

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import Store


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


BAN = "{remove: bad, ban: {scope: site, duration: permanent, uploader: true}}"


def test_a_post_showing_someone_elses_upload_bans_the_uploader_too(
    fake_lemmy,
    photos,
    tmp_path: Path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    post = lemmy.add_post(cast.pics, carol, name="look", url=upload.url)
    own = lemmy.add_upload(carol, photos["chelsea"])
    mine = lemmy.add_post(cast.pics, carol, name="mine", url=own.url)
    path = rules(
        tmp_path,
        lemmy,
        tiny_checkpoint,
        [sha(photos["coffee"]), sha(photos["chelsea"])],
        BAN,
        "post",
    )
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")
    assert lemmy.person(carol.id).banned and lemmy.person(cast.alice.id).banned
    ban = outcomes(bot, "post", post.id)["ban"]
    assert ban["status"] == "done"
    assert f"(as uploader of {upload.alias})" in ban["detail"]
    bans = [r for r in lemmy.requests if r.path == "/api/v3/user/ban"]
    assert sorted(r.json["person_id"] for r in bans) == sorted([carol.id, cast.alice.id])
    # her own upload in her own post: one ban, nobody else's
    assert "uploader" not in outcomes(bot, "post", mine.id)["ban"]["detail"]


def test_without_uploader_the_ban_is_the_authors_only(
    fake_lemmy,
    photos,
    tmp_path: Path,
    tiny_checkpoint,
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    lemmy.add_post(cast.pics, carol, name="look", url=upload.url)
    then = "{remove: bad, ban: {scope: site, duration: permanent}}"
    bot = Bot(
        lemmy,
        tmp_path,
        rules(tmp_path, lemmy, tiny_checkpoint, [sha(photos["coffee"])], then, "post"),
    )
    bot("run", "--once")
    assert lemmy.person(carol.id).banned and not lemmy.person(cast.alice.id).banned


def test_an_exempt_uploader_is_never_banned(
    fake_lemmy,
    photos,
    tmp_path: Path,
    tiny_checkpoint,
):
    # `exempt: {users: [alice]}` holds for what alice uploaded as for what she posts:
    # carol's post of alice's upload bans carol only, and the record says why not alice.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    post = lemmy.add_post(cast.pics, carol, name="look", url=upload.url)
    path = rules(tmp_path, lemmy, tiny_checkpoint, [sha(photos["coffee"])], BAN, "post")
    path.write_text(path.read_text().replace("rules:\n", "exempt: {users: [alice]}\nrules:\n", 1))
    bot = Bot(lemmy, tmp_path, path)
    spared = "the uploader is spared: the uploader is in exempt.users (alice)"
    # What the admin previews first says the same: the dry run, and the report from it.
    bot("run", "--once", "--dry-run")
    assert spared in outcomes(bot, "post", post.id)["ban"]["detail"]
    bot("report", "--since", "7d", "--out", "r.json")
    (reported,) = [
        d
        for d in json.loads((tmp_path / "r.json").read_text())["decisions"]
        if (d["item"]["kind"], d["item"]["id"]) == ("post", post.id)
    ]
    (ban,) = [a for a in reported["actions"] if a["action"] == "ban"]
    assert spared in ban["detail"] and f"/u/{carol.name}" in ban["detail"]
    assert lemmy.mutating_requests() == []
    bot("run", "--once")
    assert lemmy.person(carol.id).banned and not lemmy.person(cast.alice.id).banned
    bans = [r for r in lemmy.requests if r.path == "/api/v3/user/ban"]
    assert [r.json["person_id"] for r in bans] == [carol.id]
    live = [
        d
        for d in bot.decisions()
        if (d["item"]["kind"], d["item"]["id"]) == ("post", post.id) and not d["dry_run"]
    ]
    (ban,) = [a for a in live[-1]["actions"] if a["action"] == "ban"]
    assert ban["status"] == "done" and spared in ban["detail"]


def test_the_uploader_of_a_file_an_exempt_item_shows_is_not_banned(fake_lemmy, tmp_path: Path):
    # The file is spared (`Target.file_exempt`: an exempt item shows it): banning who
    # uploaded it would punish what the exemption allows; the author is banned.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    post = lemmy.add_post(cast.pics, carol)
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
    store = Store(tmp_path / "state.sqlite3")
    try:
        store.remember_uploader("a.jpeg", cast.alice.id, "https://x.example/u/alice", None)
        executor = Executor(
            client, store, run_id="r", dry_run=False, admin_ids={cast.admin.id, cast.bot.id}
        )
        target = Target(
            kind="post",
            id=post.id,
            author_id=carol.id,
            community_id=post.community_id,
            image_alias="a.jpeg",
            file_exempt="the same file is shown by post 1, exempt: the author is an admin",
        )
        params = {"scope": "site", "duration_seconds": None, "uploader": True}
        (ban,) = executor.execute(target, [PlannedAction("ban", "bad", params, "bad image")])
    finally:
        client.close()
        store.close()
    assert lemmy.person(carol.id).banned and not lemmy.person(cast.alice.id).banned
    assert ban.status == "done"
    assert "the file is spared: the same file is shown by post 1" in ban.detail
