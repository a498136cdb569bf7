"""A person who swaps one known-bad avatar for another: the admins hear of each. The
second is a new item (its URL is new) and is checked, but the admins' notice for it is
keyed by the item (``avatar:<person id>``), which the first one's notice used: it is
recorded "admins were notified already" and no message goes. The same holds for a
community's icon or banner and the site's (one key per owner, whatever the image).

Now a profile image's notice is claimed under its owner and the image
(``modbot.actions.handlers._notice_key``)."""

from __future__ import annotations

from support.bot import Bot
from test_profile_images import jpeg, sha


def test_a_second_known_bad_avatar_is_notified_too(fake_lemmy, tmp_path, tiny_checkpoint):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first, second = jpeg(1), jpeg(2)
    (tmp_path / "bad.txt").write_text(f"{sha(first)}\n{sha(second)}\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny_checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
hash_lists:
  known-bad: {{kind: sha256, file: bad.txt}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
rules:
  - name: known-bad avatar
    if: {{type: avatar, hash_list: known-bad}}
    then: {{notify_admins: "known-bad avatar"}}
""")
    bot = Bot(lemmy, tmp_path, rules)
    urls = []
    for n, data in enumerate((first, second)):
        upload = lemmy.add_upload(cast.alice, data)
        lemmy.set_images(cast.alice, avatar=upload.url)
        lemmy.add_post(cast.pics, cast.alice, name=f"post {n}", body="text")
        bot("run", "--once")
        urls.append(upload.url)
    avatars = [d for d in bot.decisions() if d["item"]["kind"] == "avatar"]
    assert [d["image"]["url"] for d in avatars] == urls  # each was checked
    assert [d["actions"][0]["status"] for d in avatars] == ["done", "done"]
    told = [m.content for m in lemmy.private_messages if "known-bad avatar" in m.content]
    assert len(told) == 2  # one notice a run: the second run's is about the second avatar
