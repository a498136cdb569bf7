"""`modbot report` decides the recorded decisions of the window again under the current
rules: no image downloaded, nothing classified, no page of Lemmy read; what it cannot
decide again (another concept version) it lists, and `--rescan` walks the window as
before. The daemon's `--report` grows with the run, one cycle's decisions at a time.
Some reports from the record run `modbot.cli.main` in the test's process (each
`python -m modbot` spends seconds importing torch)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from support.bot import Bot, Lines, remote_photo, sha, stop_daemon, wait_for
from support.cli import bot_environment
from support.policies import BAD, write_rules, write_sweep_rules

from modbot.cli import main
from modbot.store import Store

KNOWN_BAD_THEN_REPORT = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "Known abusive image (sha256 {{sha256}})"
      purge_image: true
  - name: local authors
    if: {author: {local: true}}
    then: {report: "a local author's image"}
"""


def downloads_and_pages(requests) -> tuple[list, list]:
    """The image downloads (pict-rs, the remote host) and the listings read."""
    downloads = [
        r
        for r in requests
        if r.server in ("pictrs", "remote") or "/image/" in r.path or "/pictrs/" in r.path
    ]
    pages = [r for r in requests if r.path.endswith(("/post/list", "/comment/list"))]
    return downloads, pages


def posts(lemmy, photos):
    cast = lemmy.cast
    bad = lemmy.add_post(
        cast.pics, cast.bob, name="bad", url=remote_photo(lemmy, photos, BAD, "bad.jpg")
    )
    fine = lemmy.add_post(
        cast.pics, cast.alice, name="fine", url=remote_photo(lemmy, photos, "chelsea")
    )
    return bad, fine


@pytest.mark.slow
def test_report_decides_the_record_again_without_downloading_or_paging(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy = fake_lemmy
    bad, fine = posts(lemmy, photos)
    # Recorded under rules that know nothing of the file.
    rules = write_rules(tmp_path, lemmy, tiny, rules=KNOWN_BAD_THEN_REPORT)
    bot = Bot(lemmy, tmp_path, rules)
    bot("sweep", "--dry-run", "--since", "7d")
    swept = {(r["item"]["kind"], r["item"]["id"]): r for r in bot.decisions()}
    assert swept[("post", bad.id)]["rule"] != "known abusive image"
    recorded = len(bot.decisions())

    # The admin adds the file to the known-bad list, then asks what the bot would do.
    write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=KNOWN_BAD_THEN_REPORT)
    before = len(lemmy.requests)
    done = bot("report", "--since", "7d", "--out", "r.json")
    new = lemmy.requests[before:]
    downloads, pages = downloads_and_pages(new)
    assert downloads == [] and pages == [], [(r.server, r.path) for r in downloads + pages]
    assert lemmy.mutating_requests() == []
    assert "from the record" in done.stdout
    assert len(bot.decisions()) == recorded, "a report from the record records nothing"
    # the concept version came from the model's files: no model was loaded to learn it
    assert "is loaded with random weights" not in done.stderr

    doc = json.loads((tmp_path / "r.json").read_text())
    by_item = {(d["item"]["kind"], d["item"]["id"]): d for d in doc["decisions"]}
    hit = by_item[("post", bad.id)]
    assert hit["rule"] == "known abusive image"
    assert hit["hash_match"] == {"known-bad": "sha256"}
    assert (hit["actions"][0]["action"], hit["actions"][0]["status"]) == ("remove", "planned")
    assert hit["redecided_from"]["run_id"] == swept[("post", bad.id)]["run_id"]
    assert hit["dry_run"] is True and hit["scores"] == swept[("post", bad.id)]["scores"]
    # The author's facts are in the record: a rule on them is decided again too.
    assert by_item[("post", fine.id)]["rule"] == "local authors"
    assert doc["summary"]["by_rule"]["known abusive image"] == 1
    assert doc["summary"]["decisions"] == len(swept)
    assert "Decided again from the record" in doc["summary"]["source"]

    # --rescan walks the window through Lemmy again, as reports did (the files it
    # knows already are not downloaded again: modbot.store known files)
    before = len(lemmy.requests)
    bot("report", "--since", "7d", "--rescan", "--out", "again.json")
    downloads, pages = downloads_and_pages(lemmy.requests[before:])
    assert pages and downloads == []
    again = json.loads((tmp_path / "again.json").read_text())
    assert {(d["item"]["kind"], d["item"]["id"]) for d in again["decisions"]} == set(by_item)
    assert lemmy.mutating_requests() == []


@pytest.mark.slow
def test_another_concept_version_is_listed_not_decided_again(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    posts(lemmy, photos)
    rules = write_rules(tmp_path, lemmy, tiny)
    bot = Bot(lemmy, tmp_path, rules)
    bot("sweep", "--dry-run", "--since", "7d")
    images = len([r for r in bot.decisions() if r["image"] and not r["skipped"]])
    assert images == 2

    # Another threshold for the custom concept: another concept version.
    text = rules.read_text().replace(f"threshold: {tiny.threshold!r}", "threshold: 0.5")
    assert text != rules.read_text()
    rules.write_text(text)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, bot.state, rules, pictrs=True)
    capsys.readouterr()
    assert main(["report", "--since", "7d", "--out", "r.json"]) == 0
    assert "0 images decided again, 2 not" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["summary"]["not_redecided"] == 2
    (reason,) = doc["summary"]["by_not_redecided"]
    assert reason.startswith("classified under concept version")
    for d in doc["decisions"]:
        assert d["not_redecided"].startswith("classified under concept version")
        assert d["rule"] is None and d["actions"] == []
    assert main(["report", "--since", "7d", "--out", "r.html"]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "Recorded, not decided again (2)" in page and "--rescan" in page

    # Once the files are classified under the new version, they are decided again.
    bot("report", "--since", "7d", "--rescan", "--out", "rescan.json")
    assert main(["report", "--since", "7d", "--out", "after.json"]) == 0
    after = json.loads((tmp_path / "after.json").read_text())
    assert "not_redecided" not in after["summary"]


def test_records_from_before_the_item_facts_still_make_a_report(fake_lemmy, photos, tiny, tmp_path):
    lemmy = fake_lemmy
    _bad, fine = posts(lemmy, photos)
    rules = write_rules(tmp_path, lemmy, tiny, rules=KNOWN_BAD_THEN_REPORT)
    bot = Bot(lemmy, tmp_path, rules)
    bot("sweep", "--dry-run", "--since", "7d")
    # As an older modbot recorded them: without the item's facts.
    db = sqlite3.connect(bot.state)
    db.execute(
        "UPDATE decisions SET record = json_remove(record, '$.item.published', "
        "'$.item.local', '$.item.author_local', '$.item.author_bot', "
        "'$.item.author_published', '$.item.author_is_moderator', '$.item.author_is_admin', "
        "'$.item.community_id', '$.item.community_local')"
    )
    db.commit()
    db.close()
    bot("report", "--since", "7d", "--out", "old.json")
    doc = json.loads((tmp_path / "old.json").read_text())
    assert doc["summary"]["without_item_facts"] == doc["summary"]["decisions"] > 0
    by_id = {d["item"]["id"]: d for d in doc["decisions"]}
    assert by_id[fine.id]["rule"] is None, "author.local is unknown: the rule does not match"
    assert "older than the item facts" in doc["summary"]["source"]


def test_the_daemons_report_grows_with_its_run_and_idle_cycles_write_nothing(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first = lemmy.add_post(
        cast.pics, cast.bob, name="first", url=remote_photo(lemmy, photos, "chelsea")
    )
    rules = write_sweep_rules(
        tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])], poll_every="1s"
    )
    bot = Bot(lemmy, tmp_path, rules)
    daemon = bot.start("run", "--dry-run", "--report", "run.json")
    err = Lines(daemon.stderr)
    out = tmp_path / "run.json"

    def in_report() -> set:
        if not out.exists():
            return set()
        return {d["item"]["id"] for d in json.loads(out.read_text())["decisions"]}

    try:
        wait_for(lambda: first.id in in_report(), what="the first post in the report")
        written = out.stat().st_mtime_ns
        cycles = err.count(" cycle ")
        wait_for(lambda: err.count(" cycle ") >= cycles + 2, what="two idle cycles")
        assert out.stat().st_mtime_ns == written, "an idle cycle writes nothing"
        later = lemmy.add_post(
            cast.pics, cast.alice, name="later", url=remote_photo(lemmy, photos, BAD, "b.jpg")
        )
        wait_for(lambda: later.id in in_report(), what="the later post in the report")
    finally:
        stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]
    doc = json.loads(out.read_text())
    store = Store(bot.state)
    try:
        ids = [row_id for row_id, _r in store.decisions_after(0, limit=10_000)]
    finally:
        store.close()
    assert sorted(d["decision_id"] for d in doc["decisions"]) == ids, "each decision once"
    assert doc["summary"]["decisions"] == len(ids) and doc["summary"]["by_rule"] == {
        "known abusive image": 1
    }
    (hit,) = [d for d in doc["decisions"] if d["item"]["id"] == later.id]
    assert hit["what_next"].startswith("If this is a false positive: remove the line")
    assert lemmy.mutating_requests() == []


def test_the_concept_version_from_the_files_is_the_loaded_engines(
    fake_lemmy, tiny, tmp_path, monkeypatch
):
    """`modbot report` learns the concept version without loading the model: it must be
    the one the engine has (else every recorded verdict would look out of date), with
    or without the anime pass, for any decode budget; and no model is built for it."""
    from classifier import model as model_module
    from classifier.deepdanbooru import WEIGHTS_FILE, write_random_weights
    from classifier.model import describe_model, load_model
    from modbot.classify import _model_spec, build_engine, local_concept_version
    from modbot.config.policy import load_policy

    danbooru = write_random_weights(tmp_path / WEIGHTS_FILE, ["rating:safe", "bikini"])
    for classifier in (
        "",
        ", deepdanbooru: off",
        f", deepdanbooru: {danbooru}, decode_memory: 512MB",
    ):
        policy = load_policy(write_rules(tmp_path, fake_lemmy, tiny, classifier=classifier))
        loaded = load_model(_model_spec(policy))
        described = describe_model(_model_spec(policy))
        assert (described.identity, described.fingerprint, described.random_weights) == (
            loaded.identity,
            loaded.fingerprint,
            loaded.random_weights,
        )
        assert described.image_size == loaded.image_size
        engine = build_engine(policy)
        try:
            expected = engine.concept_version
        finally:
            engine.close()

        def no_model(*args, **kwargs):
            raise AssertionError("a model was built to learn the concept version")

        with monkeypatch.context() as patched:
            patched.setattr(model_module, "_build", no_model)
            assert local_concept_version(policy) == expected, classifier
