"""An avatar (one image: the item is the image), or an image of a bio (an item of its
own), not in within ``fetch.item_timeout`` is recorded in words about that one image,
not as "this avatar's images took longer ... in all" (an admin would look for others)."""

from __future__ import annotations

from support.bot import Bot


def test_a_slow_avatar_is_said_to_be_slow_itself(fake_lemmy, tmp_path, tiny_checkpoint):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_behaviour("slow-avatar.jpg", b"x", delay_s=4)
    lemmy.set_images(cast.bob, avatar=url)
    slow_too = lemmy.add_remote_behaviour("slow-bio.jpg", b"x", delay_s=4)
    lemmy.person(cast.bob.id).bio = f"me ![me]({slow_too})"
    lemmy.add_post(cast.pics, cast.bob, name="hi", body="text")
    host = url.split("//", 1)[1].split("/", 1)[0]
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny_checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
fetch: {{allow_hosts: [{host!r}], item_timeout: 1s}}
schedule: {{poll_every: 60s, sweep_cron: null, sweep_since: 30d}}
rules:
  - name: anything
    if: {{type: avatar, fetch_failed: true}}
    then: {{notify_admins: "x"}}
""")
    bot = Bot(lemmy, tmp_path, rules, pictrs=False)
    bot("run", "--once")
    [avatar] = [d for d in bot.decisions() if d["item"]["kind"] == "avatar"]
    assert avatar["skipped"] == "item_timeout"
    assert avatar["skipped_detail"] == (
        "this avatar took longer than 1 s to download (fetch.item_timeout)"
    )
    [bio] = [d for d in bot.decisions() if d["item"]["kind"] == "bio"]
    assert bio["skipped"] == "item_timeout"
    assert bio["skipped_detail"] == (
        "this image in the bio took longer than 1 s to download (fetch.item_timeout)"
    )
