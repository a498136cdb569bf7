"""Whose file is it: `ban: {uploader: true}` also bans the person who uploaded the image
a post shows, when someone else posted it, and the audit says so (`modbot run --once`
against the fake Lemmy + pict-rs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from support.bot import Bot
from support.removal import outcomes, rules


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
