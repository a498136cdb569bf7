"""An exemption holds for the file: when an exempt item shows a file, no other decision
on that file (its upload, another post; by sha256 and by pict-rs alias) purges it, and
its upload is not acted on (no purge, no ban of the uploader). Another person's post of
the same file is still removed (and its author banned) by the rules. Through `python -m
modbot run --once`; the order of a batch through the pipeline API."""

from __future__ import annotations

import json

from support.bot import Bot, sha
from support.policies import BAD, write_rules

from modbot.lemmy.views_v3 import post_item, upload_item

# No `moderators_exempt: false`: moderators are exempt (exempt.moderators: true).
KNOWN_BAD = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      ban: {scope: site, duration: permanent, reason: "known abusive image"}
"""
MODERATOR = "the author moderates this community"


def acts(lemmy) -> list[tuple[str, str]]:
    """Requests that removed, purged, deleted or banned something."""
    return [
        (r.method, r.path)
        for r in lemmy.mutating_requests()
        if any(w in r.path for w in ("remove", "purge", "delete", "ban"))
    ]


def by_item(records) -> dict[tuple[str, object], dict]:
    return {(r["item"]["kind"], r["item"]["id"]): r for r in records}


def test_a_moderators_exempt_post_spares_its_upload_in_the_same_run(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD),
    )
    run = bot("run", "--once")

    assert acts(lemmy) == []
    assert lemmy.image_exists(upload.alias) and not lemmy.post(post.id).removed
    assert not lemmy.person(cast.mod.id).banned
    records = by_item(bot.decisions(run.stdout))
    assert records[("post", post.id)]["exempt"] == MODERATOR
    spared = f"the same file is shown by post {post.id}, exempt: {MODERATOR}"
    upload_record = records[("upload", upload.alias)]
    assert upload_record["exempt"] == spared and upload_record["actions"] == []
    assert [m["outcome"] for m in upload_record["matched"]] == [f"exempt: {spared}"]


def test_the_exemption_holds_across_runs_for_other_aliases_and_other_posts(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    mine = lemmy.add_upload(cast.mod, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=mine.url)
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD),
    )
    bot("run", "--once")
    # Later, alice uploads the same bytes (another alias of the same pict-rs file) and
    # posts it; bob shows the moderator's own alias in a comment.
    copy = lemmy.add_upload(cast.alice, photos[BAD])
    reposted = lemmy.add_post(cast.pics, cast.alice, name="again", url=copy.url)
    comment = lemmy.add_comment(reposted, cast.bob, content=f"![same]({mine.url})")
    run = bot("run", "--once", "--report", str(tmp_path / "run.json"))

    # The file stays: purging either alias would purge the moderator's image.
    assert lemmy.image_exists(mine.alias) and lemmy.image_exists(copy.alias)
    assert not lemmy.post(post.id).removed and not lemmy.person(cast.mod.id).banned
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path or "delete" in r.path]
    # Alice's post and bob's comment are theirs, not the moderator's: the rule acts on
    # them, all but the purge.
    assert lemmy.post(reposted.id).removed and lemmy.comment(comment.id).removed
    assert lemmy.person(cast.alice.id).banned and lemmy.person(cast.bob.id).banned
    records = by_item(bot.decisions(run.stdout))
    spared = f"the same file is shown by post {post.id}, exempt: {MODERATOR}"
    for key in (("post", reposted.id), ("comment", comment.id)):
        assert [
            (a["action"], a["status"], a["detail"])
            for a in records[key]["actions"]
            if a["action"] == "purge_image"
        ] == [("purge_image", "skipped", f"the file is spared: {spared}")]
    # Alice's upload is the very file: no purge, and no ban from the upload decision.
    assert records[("upload", copy.alias)]["exempt"] == spared
    assert records[("upload", copy.alias)]["actions"] == []
    # A report counts the reason without the item's number (one line however many).
    summary = json.loads((tmp_path / "run.json").read_text())["summary"]
    assert summary["by_exempt"] == {f"the same file is shown by an exempt item: {MODERATOR}": 1}


# A rule that matches every image: the moderator's post shows a resized variant of the
# upload (the same pict-rs alias; read as the stored file since bb16429).
EVERYTHING = """
  - name: everything
    if: {type: any}
    then:
      purge_image: true
      ban: {scope: site, duration: 3d, reason: "test"}
"""


def test_a_resized_link_to_an_upload_is_the_same_file(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.mod, photos["chelsea"])
    post = lemmy.add_post(
        cast.pics, cast.mod, name="thumb", url=f"{upload.url}?thumbnail=64&format=jpg"
    )
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=EVERYTHING))
    run = bot("run", "--once")
    records = by_item(bot.decisions(run.stdout))
    post_sha = records[("post", post.id)]["image"]["sha256"]
    # the rendition the link asks for is read as the file pict-rs stores (its alias)
    assert post_sha == sha(photos["chelsea"])
    assert lemmy.image_exists(upload.alias) and not lemmy.person(cast.mod.id).banned
    assert records[("upload", upload.alias)]["exempt"] == (
        f"the same file is shown by post {post.id}, exempt: {MODERATOR}"
    )


def test_an_upload_before_its_post_in_one_batch_is_spared_too(
    fake_lemmy, photos, tiny, pipeline_for
):
    """The source hands out uploads after posts; a batch in the other order holds too."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.mod, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.mod, name="mine", url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD)
    pipeline.start()
    (upload_view,) = pipeline.client.list_all_media(page=1, limit=50)
    post_view = pipeline.client.get_post(post.id)
    batch = [upload_item(upload_view), post_item(post_view)]

    def reversed_poll(deep=None):
        yield batch

    pipeline.source.poll = reversed_poll
    stats = pipeline.poll_once()
    assert stats.decisions == 2 and acts(lemmy) == []
    assert lemmy.image_exists(upload.alias) and not lemmy.person(cast.mod.id).banned
    records = by_item(pipeline.store.decisions())
    assert records[("upload", upload.alias)]["exempt"] == (
        f"the same file is shown by post {post.id}, exempt: {MODERATOR}"
    )
