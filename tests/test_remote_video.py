"""A video on another server, a post's link or one in a comment's Markdown (lemmy-ui
plays `![](clip.mp4)` as a video), is recorded as not scanned, with the reason
(`remote_video`), and a rule can act on that; nothing is downloaded."""

from __future__ import annotations

from support.bot import Bot
from support.removal import outcomes


def test_a_remote_video_is_recorded_as_not_scanned(fake_lemmy, tmp_path, tiny_checkpoint):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    video = lemmy.add_remote_file(
        "clip.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(64), content_type="video/mp4"
    )
    post = lemmy.add_post(cast.pics, cast.bob, name="a clip", url=video)
    other = lemmy.add_remote_file(
        "other.webm", b"\x1a\x45\xdf\xa3" + bytes(64), content_type="video/webm"
    )
    comment = lemmy.add_comment(post, cast.alice, content=f"look: ![clip]({other})")
    remote = lemmy.remote_url.split("//", 1)[1]
    (tmp_path / "rules.yaml").write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny_checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
rules:
  - name: look at videos
    if: {{skipped: remote_video}}
    then: {{report: "a remote video modbot cannot check"}}
""")
    bot = Bot(lemmy, tmp_path, tmp_path / "rules.yaml")
    bot("run", "--once")
    by_kind = {d["item"]["kind"]: d for d in bot.decisions()}
    assert len(bot.decisions()) == 2
    record = by_kind["post"]
    assert record["skipped"] == "remote_video" and record["image"]["url"] == video
    assert record["skipped_detail"].startswith("a video on another server: not scanned")
    assert outcomes(bot, "post", post.id)["report"]["status"] == "done"
    said = by_kind["comment"]
    assert said["item"]["id"] == comment.id
    assert said["skipped"] == "remote_video" and said["image"]["url"] == other
    assert outcomes(bot, "comment", comment.id)["report"]["status"] == "done"
    assert not [r for r in lemmy.requests if r.server == "remote"]  # never downloaded
