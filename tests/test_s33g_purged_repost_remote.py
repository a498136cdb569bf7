"""A repost of a file modbot purged is decided on the verdict the state keeps of it under
the classifier's concept version (3160393). On a remote classifier that version is the
workers', learnt when one answers: with none answering at the bot's start, a cycle whose
batch held only such reposts never asked them again, so the version stayed unknown, the
repost was recorded `purged` and marked seen, never acted on (its author not banned).
Now the version is asked for as a known file's is before it is downloaded again: the
repost is decided on the recorded verdict, nothing downloaded."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD, write_rules
from support.worker import TOKEN

from classifier.remote import RemoteEngine
from modbot.classify import _custom_concepts
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline


def test_a_repost_of_a_purged_file_is_decided_with_no_worker_asked_at_start(
    fake_lemmy, photos, tiny, worker, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.alice, name="known bad", url=upload.url)
    policy = load_policy(write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])]))
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )

    def run(checked: bool):
        engine = RemoteEngine(
            [worker.url], TOKEN, custom=_custom_concepts(policy), allow_random_weights=True
        )
        try:
            if checked:
                engine.check()  # the start's check answered
            with Pipeline(settings, policy, dry_run=False, engine=engine) as pipeline:
                return pipeline.poll_once(deep=True), pipeline.store.decisions()
        finally:
            engine.close()

    run(checked=True)
    assert not lemmy.image_exists(upload.alias) and lemmy.person(cast.alice.id).banned

    repost = lemmy.add_post(cast.pics, cast.bob, name="again", url=upload.url)
    lemmy.clear_requests()
    stats, records = run(checked=False)  # no worker answered the start's check

    assert lemmy.post(repost.id).removed and lemmy.person(cast.bob.id).banned
    assert not [r for r in lemmy.requests if upload.alias in r.path], "nothing downloaded"
    (record,) = [d for d in records if d["item"]["id"] == repost.id]
    assert record["skipped"] is None and record["rule"] == "known abusive image"
    assert record["image"]["checked"] == "recorded_verdict"
    assert stats.not_downloaded == 1
