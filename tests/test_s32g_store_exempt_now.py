"""An exemption holds for the file an exempt post shows, whenever it was written. Before,
only a post decided while the exemption was in the rules noted its file as spared: an
admin who added `exempt.users` or `exempt.communities` after the post was decided (its
image clean then, or the rule not there yet) saw `modbot sweep --store` purge the file,
remove the exempt post itself (the file's removal goes to every post showing it) and ban
the uploader. Now a stored file (or an upload) shown by a post or comment the rules
exempt as they are now is spared as one an exempt item noted, and the record says which
item and why."""

from __future__ import annotations

import pytest
from support.bot import Bot, sha

from fakelemmy import hostile


def rules(directory, checkpoint, known_bad=(), exempt: str = "") -> object:
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
safety_valve: {{max_destructive_actions_per_hour: 1000}}
exempt: {{moderators: true{exempt}}}
rules:
  - name: known abusive image
    priority: 100
    if: {{hash_list: known-bad}}
    then:
      remove: "Known abusive image"
      purge_image: true
      ban: {{scope: site, duration: permanent, reason: "known abusive image"}}
""")
    return path


@pytest.mark.parametrize("which", ["users", "communities", "moderators"])
def test_an_exemption_added_after_the_post_spares_its_file_in_the_store_sweep(
    fake_lemmy, tmp_path, tiny_checkpoint, which
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    # moderators: carol moderates art, and the rule that now matches her post spares her
    art = lemmy.add_community("art", moderators=[carol.id] if which == "moderators" else [])
    bad = hostile.jpeg(color=(201, 17, 90))
    upload = lemmy.add_upload(cast.bob, bad)
    carols = lemmy.add_post(art, carol, name="evidence, kept on purpose", url=upload.url)
    path = rules(tmp_path, tiny_checkpoint)
    bot = Bot(lemmy, tmp_path, path)
    bot("run", "--once")  # the post is recorded, its image clean under these rules
    # the admin lists the file as known-bad, and exempts carol (or her community)
    exempt = {"users": ", users: [carol]", "communities": ", communities: [art]"}.get(which, "")
    rules(tmp_path, tiny_checkpoint, [sha(bad)], exempt)
    lemmy.clear_requests()
    bot("sweep", "--store", "--files-per-second", "0")

    assert lemmy.image_exists(upload.alias), "the file an exempt post shows is not purged"
    assert not lemmy.post(carols.id).removed
    assert not lemmy.person(cast.bob.id).banned
    assert [r.path for r in lemmy.mutating_requests()] == []
    (record,) = [d for d in bot.decisions() if d["item"]["kind"] == "file"]
    why = {
        "users": "the author is in exempt.users (carol)",
        "communities": "the community is in exempt.communities (art)",
        "moderators": "the author moderates this community",
    }[which]
    assert record["exempt"] == f"the same file is shown by post {carols.id}, exempt: {why}"
    assert record["actions"] == []


def test_a_post_not_exempt_leaves_the_file_to_the_rules(fake_lemmy, tmp_path, tiny_checkpoint):
    """The same file shown by a post outside the exemption only: purged, as before."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    art = lemmy.add_community("art")
    bad = hostile.jpeg(color=(202, 18, 91))
    upload = lemmy.add_upload(cast.bob, bad)
    post = lemmy.add_post(cast.pics, cast.alice, name="look", url=upload.url)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, tiny_checkpoint))
    bot("run", "--once")
    assert art.id  # an exemption of another community changes nothing
    rules(tmp_path, tiny_checkpoint, [sha(bad)], ", communities: [art], users: [carol]")
    bot("sweep", "--store", "--files-per-second", "0")
    assert not lemmy.image_exists(upload.alias)
    assert lemmy.post(post.id).removed and lemmy.person(cast.bob.id).banned
