"""A post linking a file modbot purged already (another account reposting the upload URL
of a known-bad image) was recorded `purged`, no rule ran: the post stayed up and its
author was not banned, though the state holds that file's hashes and verdict (a pict-rs
alias never changes its file). Now it is decided on them, as the first post was: no
download, no second purge (the file is gone; the purge is "already done"), the record
saying so (`image.checked: recorded_verdict`). Without a verdict of the current concept
version the image stays `purged`: nothing is decided on a guess."""

from __future__ import annotations

from support.bot import Bot, sha

from fakelemmy import hostile

RULES = """
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true{options}}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
rules:
  - name: known abusive image
    priority: 100
    if: {{hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_image: true
      ban: {{scope: site, duration: permanent, reason: "known abusive image"}}
"""


def rules(directory, checkpoint, known_bad, options: str = ""):
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(RULES.format(checkpoint=checkpoint, options=options))
    return path


def post_records(bot, post_id: int) -> list[dict]:
    return [
        d for d in bot.decisions() if d["item"]["kind"] == "post" and d["item"]["id"] == post_id
    ]


def test_a_repost_of_a_purged_file_is_decided_on_its_recorded_verdict(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = hostile.jpeg(color=(203, 19, 92))
    upload = lemmy.add_upload(cast.alice, bad)
    first = lemmy.add_post(cast.pics, cast.alice, name="bad", url=upload.url)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, tiny_checkpoint, [sha(bad)]))
    bot("run", "--once")
    assert lemmy.post(first.id).removed and not lemmy.image_exists(upload.alias)
    assert lemmy.person(cast.alice.id).banned

    repost = lemmy.add_post(cast.pics, cast.bob, name="again", url=upload.url)
    lemmy.clear_requests()
    run = bot("run", "--once")

    assert "1 from cache (1 not downloaded: known files)" in run.stdout
    assert lemmy.post(repost.id).removed
    assert lemmy.person(cast.bob.id).banned
    assert not [r for r in lemmy.requests if upload.alias in r.path], "nothing downloaded"
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path], "no second purge"
    (record,) = post_records(bot, repost.id)
    assert record["skipped"] is None and record["rule"] == "known abusive image"
    assert record["image"]["sha256"] == sha(bad)
    assert record["image"]["checked"] == "recorded_verdict"
    assert record["hash_match"] == {"known-bad": "sha256"}
    outcomes = {a["action"]: a for a in record["actions"]}
    assert outcomes["remove"]["status"] == "done" and outcomes["ban"]["status"] == "done"
    assert outcomes["purge_image"]["status"] == "skipped"
    assert outcomes["purge_image"]["detail"].startswith("already done")


def test_no_verdict_of_the_current_concept_version_leaves_it_purged(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = hostile.jpeg(color=(204, 20, 93))
    upload = lemmy.add_upload(cast.alice, bad)
    lemmy.add_post(cast.pics, cast.alice, name="bad", url=upload.url)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, tiny_checkpoint, [sha(bad)]))
    bot("run", "--once")
    # another decode budget: another concept version, and no verdict of it on the file
    rules(tmp_path, tiny_checkpoint, [sha(bad)], ", decode_memory: 300MB")
    repost = lemmy.add_post(cast.pics, cast.bob, name="again", url=upload.url)
    lemmy.clear_requests()
    bot("run", "--once")
    assert not lemmy.post(repost.id).removed and not lemmy.person(cast.bob.id).banned
    assert not [r for r in lemmy.requests if upload.alias in r.path], "nothing downloaded"
    (record,) = post_records(bot, repost.id)
    assert record["skipped"] == "purged" and record["actions"] == []
