"""`modbot sweep` and `modbot report` through the real entry point, against the fake Lemmy.

The bot runs in a child process (`python -m modbot ...`), the fake in this one. Rules act
on a SHA-256 list (deterministic); the classifier is the tiny random-weights model.
The helpers (Bot, the rules file, the backlog) are in tests/support/.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from support.bot import Bot, sha, wait_for
from support.policies import BAD, backlog, write_sweep_rules

from fakelemmy import hostile
from fakelemmy.state import now
from modbot.images import unwrap_proxy


def mutation_keys(lemmy) -> list[tuple]:
    return [
        (
            r.server,
            r.method,
            r.path,
            json.dumps(r.json, sort_keys=True),
            json.dumps(r.query, sort_keys=True),
        )
        for r in lemmy.mutating_requests()
    ]


# --------------------------------------------------------------------------- sweep


@pytest.mark.slow
@pytest.mark.both_lemmys
def test_sweep_interrupted_then_resumed_sees_every_item_once_and_repeats_no_action(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy = fake_lemmy
    made = backlog(lemmy, photos, posts=160)
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=made["bad_hashes"])
    bot = Bot(lemmy, tmp_path, rules)
    # Slow paging down so the SIGTERM lands in the middle of the backlog.
    lemmy.delay(lemmy.api_path("/api/v3/post/list"), 0.6)

    first = bot.start("sweep", "--since", "30d")
    wait_for(lambda: len(bot.decisions()) > 0, what="the first decisions")
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130, (out, err[-2000:])
    assert "interrupted (run it again to resume)" in out
    seen_first = {(r["item"]["kind"], r["item"]["id"]) for r in bot.decisions()}
    assert 0 < len(seen_first) < len(made["posts"]) + len(made["comments"])
    mutations_first = mutation_keys(lemmy)

    lemmy.delay(lemmy.api_path("/api/v3/post/list"), 0)
    second = bot("sweep", "--since", "30d")
    assert "done" in second.stdout
    assert "resuming the interrupted sweep" in second.stderr

    records = bot.decisions()
    per_item = Counter(
        (r["item"]["kind"], r["item"]["id"]) for r in records if r["item"]["kind"] != "upload"
    )
    expected = {("post", i) for i in made["posts"]} | {("comment", i) for i in made["comments"]}
    assert set(per_item) == expected, "every post and comment of the backlog is looked at"
    assert max(per_item.values()) == 1, "and only once"
    # the resumed run did not look again at what the first one decided
    assert not seen_first & {
        (r["item"]["kind"], r["item"]["id"]) for r in records if r["run_id"] != records[0]["run_id"]
    }

    keys = mutation_keys(lemmy)
    assert keys[: len(mutations_first)] == mutations_first
    assert len(keys) == len(set(keys)), "no action is ever sent twice"
    removed = [
        r.json["post_id"]
        for r in lemmy.mutating_requests()
        if r.path == lemmy.api_path("/api/v3/post/remove")
    ]
    assert sorted(removed) == sorted(made["bad_posts"])
    bans = [
        r.json["person_id"]
        for r in lemmy.mutating_requests()
        if r.path == lemmy.api_path("/api/v3/user/ban")
    ]
    assert sorted(bans) == sorted({lemmy.cast.alice.id, lemmy.cast.bob.id})
    assert all(lemmy.post(i).removed for i in made["bad_posts"])


@pytest.mark.both_lemmys
def test_sweep_goes_on_when_the_post_its_page_cursor_names_is_purged(
    fake_lemmy, photos, pipeline_for, caplog
):
    """Lemmy's cursor names the last post of a page; that post purged while the sweep
    reads on (by another admin, or by a rule in a resumed sweep) must not end it."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=3)
    good = lemmy.add_remote_file("good.jpg", photos["chelsea"])
    posts = [
        lemmy.add_post(
            cast.pics,
            cast.bob,
            name=f"post {i}",
            url=good,
            published=start + timedelta(minutes=i),
        )
        for i in range(130)
    ]
    # newest first: pages 129..80, 79..30, 29..0; the third page is read with a cursor
    # naming post 30, after the first page is decided (the next page is read ahead)
    pipeline = pipeline_for(lemmy)

    def purge_the_cursor_post(done: int, total: int | None) -> None:
        lemmy.post(posts[30].id).purged = True

    with caplog.at_level("INFO"):
        pipeline.sweep(start - timedelta(days=1), progress=purge_the_cursor_post)
    seen = {r["item"]["id"] for r in pipeline.store.decisions(run_id=pipeline.run_id)}
    assert {p.id for p in posts[:30]} <= seen, "the posts after the purged one are swept too"
    assert "resumed after post" in caplog.text


@pytest.mark.both_lemmys
def test_a_sweep_says_whose_comments_it_could_not_read_and_the_next_sweep_reads_them(
    fake_lemmy, photos, pipeline_for
):
    """Lemmy unavailable (502 after the retries) for one post's comments: the sweep goes
    on, and its summary and warnings name the post (no log line alone)."""
    from modbot.config.settings import Secret
    from modbot.lemmy import LemmyClient
    from modbot.lemmy.v4 import LemmyClientV4

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    start = now() - timedelta(days=3)
    good = lemmy.add_remote_file("good.jpg", photos["chelsea"])
    post = lemmy.add_post(cast.pics, cast.bob, name="p", url=good, published=start)
    comment = lemmy.add_comment(
        post, cast.alice, content=f"![look]({good})", published=start + timedelta(seconds=30)
    )
    client_class = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = client_class(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, retries=1, sleep=lambda _: None
    )
    pipeline = pipeline_for(lemmy, client=client)
    lemmy.fail_next(lemmy.api_path("/api/v3/comment/list"), times=2, status=502)
    stats = pipeline.sweep(start - timedelta(days=1))
    assert f"comments of 1 post not read (Lemmy unavailable): post {post.id}" in stats.summary()
    assert any(f"comments of post {post.id}:" in w for w in pipeline.warnings)
    decided = {(r["item"]["kind"], r["item"]["id"]) for r in pipeline.store.decisions()}
    assert ("post", post.id) in decided and ("comment", comment.id) not in decided

    again = pipeline.sweep(start - timedelta(days=1))
    assert "not read" not in again.summary()
    decided = {(r["item"]["kind"], r["item"]["id"]) for r in pipeline.store.decisions()}
    assert ("comment", comment.id) in decided


@pytest.mark.slow
def test_sweep_since_window_dry_run_with_report_and_cache(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    made = backlog(lemmy, photos, posts=30, days_old=3)
    old = lemmy.add_post(
        cast.pics,
        cast.bob,
        name="ancient",
        url=lemmy.add_remote_file("old.jpg", photos["chelsea"]),
        published=now() - timedelta(days=60),
    )
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=made["bad_hashes"])
    bot = Bot(lemmy, tmp_path, rules)
    done = bot("sweep", "--dry-run", "--since", "10d", "--report", "sweep.json")
    assert lemmy.mutating_requests() == []
    doc = json.loads((tmp_path / "sweep.json").read_text())
    ids = {(d["item"]["kind"], d["item"]["id"]) for d in doc["decisions"]}
    assert ("post", old.id) not in ids, "older than --since"
    assert {("post", i) for i in made["posts"]} <= ids
    assert doc["summary"]["dry_run"] is True and doc["summary"]["random_weights"] is True
    flagged = [(d["item"]["kind"], d["item"]["id"]) for d in doc["decisions"] if d["rule"]]
    assert sorted(i for k, i in flagged if k == "post") == sorted(made["bad_posts"])
    assert doc["summary"]["by_rule"] == {"known abusive image": len(flagged)}
    # 5 distinct photos among many images: each classified once
    distinct = len({d["image"]["sha256"] for d in doc["decisions"]})
    assert f"{distinct} classified" in done.stdout

    # A second sweep over everything: the old post is new, the rest was seen already.
    again = bot("sweep", "--dry-run", "--all")
    last_run = [r for r in bot.decisions() if r["run_id"] == again.stdout.split()[1]]
    assert [(r["item"]["kind"], r["item"]["id"]) for r in last_run] == [("post", old.id)]
    assert "0 classified; 1 from cache" in again.stdout


def test_sweep_refuses_a_report_with_an_unknown_extension_before_starting(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "sweep", "--report", "r.pdf"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and ".json or .html" in done.stderr
    assert not list(tmp_path.iterdir())


def test_progress_lines_without_a_terminal():
    from modbot.modes.progress import Progress

    lines: list[str] = []
    now = [0.0]
    progress = Progress("sweep", tty=False, every_s=0, out=lines.append, clock=lambda: now[0])
    progress(50, 200)  # the first report: no rate yet (it is measured from here)
    now[0] += 10
    progress(100, 200)
    now[0] += 10
    progress(150, None)
    assert lines[0] == "sweep: 50/200 items (25%)"
    assert lines[1] == "sweep: 100/200 items (50%), 5.0 items/s, ETA 0:00:20"
    assert lines[2] == "sweep: 150 items, 5.0 items/s"


# --------------------------------------------------------------------------- report


@pytest.mark.slow
@pytest.mark.both_lemmys
def test_report_is_a_dry_run_over_the_window_as_json_and_html(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = lemmy.add_remote_file("bad.jpg", photos[BAD])
    recent = lemmy.add_post(
        cast.pics,
        cast.bob,
        name='<script>alert("title")</script>',
        url=bad_url,
        published=now() - timedelta(days=2),
    )
    broken = lemmy.add_remote_file("broken.jpg", hostile.truncated_jpeg(photos["chelsea"]))
    lemmy.add_comment(recent, cast.alice, content=f"![x]({broken})")
    private = lemmy.add_post(
        cast.pics,
        cast.alice,
        name="private",
        url="http://10.1.2.3/secret.jpg",
        published=now() - timedelta(days=1),
    )
    old = lemmy.add_post(
        cast.pics, cast.bob, name="old", url=bad_url, published=now() - timedelta(days=20)
    )
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)

    bot("report", "--since", "7d", "--out", "week.json")
    bot("report", "--since", "7d", "--out", "week.html")
    assert lemmy.mutating_requests() == [], "a report changes nothing"

    doc = json.loads((tmp_path / "week.json").read_text())
    assert set(doc) == {"summary", "decisions", "gate"}
    assert doc["gate"] == [] and doc["summary"]["gate"]["records"] == 0  # no gate here
    by_item = {(d["item"]["kind"], d["item"]["id"]): d for d in doc["decisions"]}
    assert ("post", old.id) not in by_item
    hit = by_item[("post", recent.id)]
    assert hit["item"]["url"] == f"{lemmy.url}/post/{recent.id}"
    # 1.0 stores a remote image post's URL as its image proxy's
    assert (unwrap_proxy(hit["image"]["url"]) or hit["image"]["url"]) == bad_url
    assert hit["image"]["sha256"] == sha(photos[BAD])
    assert hit["rule"] == "known abusive image" and "scores" in hit and "labels" in hit
    # On 0.19 the remote image is stored on the other server only: nothing to purge. 1.0
    # shows it through its image proxy, where pict-rs keeps a copy once someone views it
    # there; no one has (the bot reads the original): nothing to purge either (a464c27)
    purge = "skipped" if lemmy.api_version == "v4" else "not_possible"
    assert [(a["action"], a["status"]) for a in hit["actions"]] == [
        ("remove", "planned"),
        ("purge_image", purge),
        ("ban", "planned"),
    ]
    assert hit["actions"][1]["detail"].startswith(
        "nothing to purge: pict-rs holds no copy" if purge == "skipped" else "remote image: "
    ), hit["actions"][1]
    skipped = by_item[("post", private.id)]
    assert skipped["skipped"] and skipped["scores"] == {} and skipped["rule"] is None
    assert doc["summary"]["by_rule"]["known abusive image"] == 1
    assert doc["summary"]["skipped"] >= 1 and doc["summary"]["complete"] is True

    page = (tmp_path / "week.html").read_text()
    assert "<img" not in page.lower() and "data:" not in page.lower()
    assert "<script" not in page.lower()
    assert f'href="{lemmy.url}/post/{recent.id}"' in page
    assert "known abusive image" in page and "TEST MODEL" in page and "DRY RUN" in page

    # A report looks at every item in the window again, even after a sweep saw them.
    bot("sweep", "--dry-run", "--since", "7d")
    bot("report", "--since", "7d", "--out", "again.json")
    again = json.loads((tmp_path / "again.json").read_text())
    assert {(d["item"]["kind"], d["item"]["id"]) for d in again["decisions"]} == set(by_item)


def test_run_once_dry_run_writes_the_report_of_its_run(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = hostile.jpeg(color=(1, 2, 3))
    post = lemmy.add_post(
        cast.pics, cast.alice, name="new", url=lemmy.add_upload(cast.alice, bad).url
    )
    bot = Bot(
        lemmy, tmp_path, write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(bad)])
    )
    done = bot("run", "--once", "--dry-run", "--report", "once.json")
    assert lemmy.mutating_requests() == []
    doc = json.loads((tmp_path / "once.json").read_text())
    run_id = done.stdout.split()[1]
    assert {d["run_id"] for d in doc["decisions"]} == {run_id}
    assert doc["summary"]["dry_run"] is True
    (hit,) = [
        d for d in doc["decisions"] if d["item"] == {**d["item"], "kind": "post", "id": post.id}
    ]
    assert hit["rule"] == "known abusive image"


def test_progress_bar_with_eta_on_a_terminal(capsys):
    from modbot.modes.progress import Progress

    progress = Progress("sweep", tty=True)
    progress(50, 200)
    progress(200, 200)
    progress.close()
    err = capsys.readouterr().err
    assert "sweep: 100%" in err and "200/200" in err and "items/s" in err
