"""A repost of a file modbot purged is decided on what the state keeps of the file
(`Acquirer._from_record`), which needs the classifier's concept version. Since 51af416
the pipeline built the classifier for every batch holding such a repost, even when the
state keeps nothing of the file (nothing to decide it on): a `run --once` of reposts
loaded the model (or asked the workers) for nothing. Now only a kept file's repost
builds it; the repost stays `purged`, as before."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD, write_rules

from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline


def test_no_engine_is_built_for_a_repost_of_a_purged_file_the_state_keeps_nothing_of(
    fake_lemmy, photos, tiny, pipeline_for, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.alice, name="known bad", url=upload.url)
    first = pipeline_for(lemmy, known_bad=[sha(photos[BAD])])
    first.poll_once(deep=True)
    assert not lemmy.image_exists(upload.alias)
    first.store._db.execute("DELETE FROM files")  # nothing kept of the file
    first.state_lock.release()

    repost = lemmy.add_post(cast.pics, cast.bob, name="again", url=upload.url)
    policy = load_policy(write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])]))
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    with Pipeline(settings, policy, dry_run=False) as pipeline:
        pipeline.poll_once(deep=True)
        assert not pipeline.engine_built
        records = [d for d in pipeline.store.decisions() if d["item"]["id"] == repost.id]
    assert [r["skipped"] for r in records] == ["purged"]
    assert not lemmy.post(repost.id).removed
