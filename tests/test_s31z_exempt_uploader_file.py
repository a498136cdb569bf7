"""A user in `exempt.users` is never acted on, their uploads included. Bob's post showing
alice's upload (alice exempt) had its `ban: {uploader: true}` spare her ("the uploader
is spared"), but its `purge_image` purged her upload's file in the same decision, and a
`purge_item` took it along with the post (Lemmy purges a post's link): her upload is
decided after the posts, too late to note it exempt. Now both are skipped, saying whose
upload it is; bob's post is removed and bob banned as the rule says."""

from __future__ import annotations

import pytest
from support.bot import Bot
from test_store_sweep import gone, jpeg, sha


def rules(directory, lemmy, checkpoint, known_bad, then: str) -> str:
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
exempt: {{users: [alice]}}
rules:
  - name: known abusive image
    if: {{hash_list: known-bad, type: post}}
    then:
      {then}
      ban: {{scope: site, duration: 7d, uploader: true}}
""")
    return path


@pytest.mark.parametrize(
    ("then", "action"),
    [
        ('remove: "known abusive"\n      purge_image: true', "purge_image"),
        ("purge_item: true", "purge_item"),
    ],
)
def test_an_exempt_users_upload_in_someone_elses_post_is_not_purged(
    fake_lemmy, tmp_path, tiny_checkpoint, then, action
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = jpeg(5)
    upload = lemmy.add_upload(cast.alice, bad)
    post = lemmy.add_post(cast.pics, cast.bob, name="look", url=upload.url)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, lemmy, tiny_checkpoint, [sha(bad)], then))
    bot("run", "--once")
    assert not gone(lemmy, upload.alias)
    assert lemmy.person(cast.bob.id).banned and not lemmy.person(cast.alice.id).banned
    (decision,) = [d for d in bot.decisions() if d["item"]["kind"] == "post"]
    outcomes = {a["action"]: a for a in decision["actions"]}
    assert outcomes[action]["status"] == "skipped", outcomes
    assert "the uploader is in exempt.users (alice)" in outcomes[action]["detail"]
    if action == "purge_image":
        assert lemmy.post(post.id).removed  # bob's post, as the rule says
