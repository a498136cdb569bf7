"""A video in the instance's pict-rs is classified through the still pict-rs renders of
it (`?format=jpg&thumbnail=`), and the record says that only its first frame was
checked (pict-rs renders one still and has no way to ask for another frame); a video on
another server is recorded as not scanned. Through `python -m modbot` against the fake.

The fake pict-rs renders a still of whatever Pillow opens (its first frame); the test's
"video" is an animated GIF stored as video/mp4, as pict-rs stores animations it
transcodes, so that its first frame differs from its last.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from support.bot import Bot


def animation() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def rules(directory: Path, lemmy, checkpoint: Path) -> Path:
    remote = lemmy.remote_url.split("//", 1)[1]
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
fetch: {{allow_hosts: ["{remote}"]}}
rules:
  - name: videos reported
    if: {{skipped: remote_video}}
    then: {{report: "a remote video modbot cannot check"}}
""")
    return path


def test_a_local_video_is_classified_from_its_first_frame_and_says_so(
    fake_lemmy, tmp_path, tiny_checkpoint
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    video = lemmy.add_upload(cast.alice, animation(), content_type="video/mp4")
    assert video.alias.endswith(".mp4")
    post = lemmy.add_post(cast.pics, cast.alice, name="a clip", url=video.url)
    remote = lemmy.add_remote_file(
        "clip.webm", b"\x1a\x45\xdf\xa3" + bytes(64), content_type="video/webm"
    )
    other = lemmy.add_post(cast.pics, cast.bob, name="remote clip", url=remote)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, lemmy, tiny_checkpoint))
    lemmy.clear_requests()
    bot("run", "--once", "--dry-run")
    records = {d["item"]["id"]: d for d in bot.decisions()}

    local = records[post.id]
    assert local["skipped"] is None and local["model"]  # classified
    assert local["image"]["alias"] == video.alias
    assert local["image"]["checked"] == "first_frame"
    # fetched as pict-rs' still, never as the video itself
    fetched = [r for r in lemmy.requests if video.alias in r.path]
    assert fetched and all(
        "thumbnail" in r.query and r.query.get("format") == "jpg" for r in fetched
    )

    far = records[other.id]
    assert far["skipped"] == "remote_video" and "checked" not in far["image"]
    assert not [r for r in lemmy.requests if r.path.endswith("clip.webm")]


def test_a_still_image_records_no_partial_check(fake_lemmy, tmp_path, tiny_checkpoint, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos["astronaut"])
    post = lemmy.add_post(cast.pics, cast.alice, name="photo", url=upload.url)
    bot = Bot(lemmy, tmp_path, rules(tmp_path, lemmy, tiny_checkpoint))
    bot("run", "--once", "--dry-run")
    [record] = [d for d in bot.decisions() if d["item"]["id"] == post.id]
    assert "checked" not in record["image"]
