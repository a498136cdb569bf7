"""A local upload is fetched as the file pict-rs stores, whatever rendition the link
asks for: `/pictrs/image/ALIAS?format=webp&thumbnail=256` is that upload resized, and
its hash is not the file's, so a known-bad list (and the verdict cache, by alias) saw
another file. And a local video read through an internal LEMMY_URL is fetched as its
still, as it is through the public address: before, the video itself was downloaded,
which is not an image."""

from __future__ import annotations

import pytest
from support.bot import sha
from support.policies import BAD, write_rules
from test_video_stills import animation

from modbot.classify import build_engine
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline

REMOVE_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


@pytest.mark.both_lemmys
def test_a_resized_link_to_an_upload_is_judged_by_the_stored_file(fake_lemmy, photos, pipeline_for):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.bob, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    url = f"{upload.url}?format=webp&thumbnail=256"
    comment = lemmy.add_comment(post, cast.bob, content=f"look ![x]({url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats  # before: the rendition, not listed
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == comment.id]
    assert record["image"]["sha256"] == sha(photos[BAD])
    assert record["image"]["url"] == url  # recorded as written: what a moderator clicks


def test_a_local_video_read_through_an_internal_address_is_fetched_as_its_still(
    fake_lemmy, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    assert "127.0.0.1" in lemmy.url
    internal = lemmy.url.replace("127.0.0.1", "localhost")  # LEMMY_URL, not the site's own
    video = lemmy.add_upload(cast.alice, animation(), content_type="video/mp4")
    post = lemmy.add_post(cast.pics, cast.alice, name="a clip", url=video.url)
    policy = load_policy(write_rules(tmp_path, lemmy, tiny))
    settings = Settings(internal, "modbot", Secret("pw"), None, None, tmp_path / "state.sqlite3")
    engine = build_engine(policy)
    lemmy.clear_requests()
    try:
        with Pipeline(settings, policy, dry_run=True, engine=engine) as pipeline:
            pipeline.poll_once(deep=True)
            (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    finally:
        engine.close()
    assert record["skipped"] is None and record["model"], record  # before: not_an_image
    assert record["image"].get("checked") == "first_frame"
    # the still pict-rs renders (the fake's "video" is an animated GIF, which decodes:
    # the request says what was asked); before: the video itself
    fetched = [r for r in lemmy.requests if r.path.endswith(video.alias)]
    assert fetched and all(r.query.get("thumbnail") for r in fetched), fetched
