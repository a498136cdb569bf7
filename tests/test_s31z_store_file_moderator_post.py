"""A rule's own exemption holds for everyone it acts on. A stored file's `remove` (and
`purge_item`, `report`) goes to every post and comment modbot saw showing the file;
only an admin's was left alone, so a rule exempting moderators (`exempt.moderators:
true`, the rule saying nothing) removed a moderator's post in the community they
moderate, which the same rule spares when it decides the post. Now such a post is
skipped, saying why; another person's post showing the file is removed as before, and a
rule with `moderators_exempt: false` removes the moderator's post too. So for the ban of
a file no uploader is known of (a thumbnail Lemmy made), which goes to the creator of the
first post showing it: a moderator who posted it in their community is spared."""

from __future__ import annotations

import pytest
from support.bot import Bot
from test_store_sweep import jpeg, sha

REMOVE = 'remove: "Known abusive image"'
BAN = "ban: {scope: site, duration: 7d}"


def rules(directory, lemmy, checkpoint, known_bad, extra: str = "", then: str = REMOVE) -> str:
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
exempt: {{moderators: true}}
rules:
  - name: known abusive file
    priority: 100{extra}
    if: {{type: file, hash_list: known-bad}}
    then:
      {then}
""")
    return path


def removed_post_ids(lemmy) -> set[int]:
    return {
        r.json["post_id"]
        for r in lemmy.requests
        if r.path == lemmy.api_path("/api/v3/post/remove") and r.json.get("removed")
    }


@pytest.mark.parametrize("exempt", [True, False])
def test_a_stored_files_removal_spares_a_moderators_post_in_their_community(
    fake_lemmy, tmp_path, tiny_checkpoint, exempt
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    art = lemmy.add_community("art", moderators=[carol.id])
    bad = jpeg(7)
    upload = lemmy.add_upload(cast.bob, bad)
    theirs = lemmy.add_post(art, carol, name="what is this", url=upload.url)
    alices = lemmy.add_post(cast.pics, cast.alice, name="look", url=upload.url)
    extra = "" if exempt else "\n    moderators_exempt: false"
    bot = Bot(lemmy, tmp_path, rules(tmp_path, lemmy, tiny_checkpoint, [sha(bad)], extra))
    bot("run", "--once")  # the posts are recorded: the file's removal finds them
    assert removed_post_ids(lemmy) == set()  # the rule is for stored files only
    bot("sweep", "--store", "--files-per-second", "0")
    assert removed_post_ids(lemmy) == ({alices.id} if exempt else {alices.id, theirs.id})
    (decision,) = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    (remove,) = [a for a in decision["actions"] if a["action"] == "remove"]
    said = f"post {theirs.id}: the author moderates its community" in remove["detail"]
    assert said is exempt, remove["detail"]


@pytest.mark.parametrize("exempt", [True, False])
def test_a_stored_files_ban_spares_the_moderator_whose_post_it_goes_to(
    fake_lemmy, tmp_path, tiny_checkpoint, exempt
):
    lemmy = fake_lemmy
    carol = lemmy.add_person("carol")
    art = lemmy.add_community("art", moderators=[carol.id])
    bad = jpeg(9)
    thumbnail = lemmy.add_thumbnail(bad)  # no uploader known
    theirs = lemmy.add_post(art, carol, name="what is this", url=thumbnail.url)
    extra = "" if exempt else "\n    moderators_exempt: false"
    path = rules(tmp_path, lemmy, tiny_checkpoint, [sha(bad)], extra, then=BAN)
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")
    bot("sweep", "--store", "--files-per-second", "0")
    assert lemmy.person(carol.id).banned is not exempt
    (decision,) = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    (ban,) = [a for a in decision["actions"] if a["action"] == "ban"]
    said = f"post {theirs.id}: the author moderates its community" in ban["detail"]
    assert said is exempt, ban["detail"]
