"""Lemmy answers that are not what Lemmy sends: malformed items, pages that are not
Lemmy's, paging that loops, answers trickled a byte at a time.

Through the real entry point (`python -m modbot ...`) against the fake Lemmy, whose
`tamper` (rewrite the real answer) and `trickle` (send it slowly) play the hostile part.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from support.bot import Bot, Lines, sha, stop_daemon, wait_for
from support.policies import BAD, write_removal_rules

from fakelemmy.scenarios import PASSWORD
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy import LemmyBadAnswer, LemmyClient, LemmyUnavailable
from modbot.lemmy.v4 import LemmyClientV4
from modbot.lemmy.views_v3 import comment_item, post_item, upload_item
from modbot.model import Item, parse_time
from modbot.source import Source
from modbot.store import Store


def requests_to(lemmy, path: str) -> int:
    return sum(1 for r in lemmy.requests if r.path == path)


# --------------------------------------------------------------------------- items


@pytest.mark.slow
def test_malformed_items_are_recorded_as_skipped_and_the_rest_of_the_page_is_decided(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_post(
        cast.pics, cast.alice, name="bad", url=lemmy.add_remote_file("bad.jpg", photos[BAD])
    )
    fine = lemmy.add_post(
        cast.pics, cast.bob, name="fine", url=lemmy.add_remote_file("fine.jpg", photos["chelsea"])
    )
    lemmy.add_comment(fine, cast.bob, content="nice")
    published = now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    who = {
        "creator": {"id": cast.bob.id, "name": "bob"},
        "community": {"id": cast.pics.id, "name": "pics"},
    }
    broken_posts = [
        None,  # a null view
        {"post": {"name": "no id", "published": published}, **who},
        {"post": {"id": 10**6, "name": "integer time", "published": 1700000000}, **who},
    ]
    broken_comment = {
        "comment": {"id": 10**6, "content": "x", "published": published},
        "creator": who["creator"],
        "community": "pics",
    }
    broken_upload = {
        "local_image": {"pictrs_alias": "../../api/v3/user/ban", "published": published},
        "person": {"id": cast.alice.id},
    }
    lemmy.tamper(
        "/api/v3/post/list",
        lambda body: {**body, "posts": [broken_posts[0], *body["posts"], *broken_posts[1:]]},
    )
    lemmy.tamper(
        "/api/v3/comment/list",
        lambda body: {**body, "comments": [broken_comment, *body["comments"]]},
    )
    lemmy.tamper(
        "/api/v3/admin/list_all_media",
        lambda body: {**body, "images": [broken_upload, *body["images"]]},
    )
    # a listed community without an integer id, or with an icon that is not a URL, is
    # left out (it has no decision of its own to record), the rest are read
    broken_communities = [{"community": {"id": "x"}}, {"community": {"id": 10**6, "icon": 7}}]
    lemmy.tamper(
        "/api/v3/community/list",
        lambda body: {**body, "communities": [*broken_communities, *body["communities"]]},
    )
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])]),
        strict=True,
    )

    first = bot("run", "--once", "--report", "run.json")
    assert "skipped malformed_item 5" in first.stdout
    assert "community/list: 2 malformed entries left out" in first.stderr
    records = bot.decisions()
    malformed = {r["skipped_detail"]: r for r in records if r["skipped"] == "malformed_item"}
    assert sorted(malformed) == sorted(
        [
            "Lemmy's post is malformed: the post is null, not an object",
            "Lemmy's post is malformed: `post.id` is missing",
            "Lemmy's post is malformed: `post.published` is 1700000000, not a timestamp",
            'Lemmy\'s comment is malformed: `community` is "pics", not an object',
            "Lemmy's upload is malformed: `local_image.pictrs_alias` is "
            '"../../api/v3/user/ban", not a pict-rs alias',
        ]
    )
    late = malformed["Lemmy's post is malformed: `post.published` is 1700000000, not a timestamp"]
    assert late["item"]["id"] == 10**6 and late["item"]["url"] == f"{lemmy.url}/post/{10**6}"
    assert all(r["image"] is None and r["actions"] == [] for r in malformed.values())
    # the valid items of the same pages were decided, and the bad one acted on
    decided = {r["item"]["id"]: r for r in records if r["item"]["kind"] == "post"}
    assert decided[bad.id]["rule"] == "known abusive image" and lemmy.post(bad.id).removed
    assert decided[fine.id]["skipped"] is None and decided[fine.id]["rule"] is None
    assert not any(".." in r.path for r in lemmy.requests), "a broken alias is never used"
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["summary"]["by_skip_reason"]["malformed_item"] == 5

    # The same broken views next time: already recorded, not again.
    second = bot("run", "--once")
    assert "malformed_item" not in second.stdout
    assert len(bot.decisions()) == len(records)


def test_what_an_item_needs_and_what_it_may_lack():
    """The rule: an item's id and time, its author and (posts, comments) its community
    are required; anything else modbot reads may be missing or null, not mistyped."""
    post = {
        "post": {"id": 3, "published": "2026-01-01T00:00:00Z"},
        "creator": {"id": 7},
        "community": {"id": 2},
    }
    item = post_item(post)
    assert item.problem is None and item.id == 3
    assert item.updated == "2026-01-01T00:00:00Z thumbnail:none"  # what "seen" compares
    assert post_item({**post, "counts": None, "creator_is_admin": None}).problem is None
    for change, problem in [
        ({"creator": None}, "`creator` is missing"),
        ({"community": {"name": "pics"}}, "`community.id` is missing"),
        (
            {"post": {"id": True, "published": "2026-01-01T00:00:00Z"}},
            "`post.id` is true, not a positive integer",
        ),
        (
            {"post": {"id": 3, "published": "yesterday"}},
            '`post.published` is "yesterday", not a timestamp',
        ),
        (
            {"post": {"id": 3, "published": "2026-01-01T00:00:00Z", "url": ["a"]}},
            "`post.url` is a list, not a string",
        ),
        ({"creator_is_admin": "no"}, '`creator_is_admin` is "no", not true or false'),
    ]:
        broken = post_item({**post, **change})
        # a malformed item keeps nothing of what Lemmy sent but what names it
        assert broken.problem == problem
        assert broken == Item(broken.kind, broken.id, broken.published, broken.updated, problem)
    upload = upload_item({"local_image": {"pictrs_alias": "a.jpg"}, "person": {"id": 1}})
    assert upload.problem == "`local_image.published` is missing" and upload.id == "a.jpg"
    assert comment_item([1, 2]).problem == "the comment is a list, not an object"
    # the same broken view is the same item; an id-less one is named by its content
    again = post_item({**post, "creator": None})
    assert again.key == post_item({**post, "creator": None}).key == "post:3"
    nameless = post_item({"post": {}})
    assert str(nameless.id).startswith("malformed-") and nameless.updated.startswith("malformed:")


# --------------------------------------------------------------------------- pages


@pytest.mark.slow
def test_a_page_that_is_not_lemmys_fails_the_run_with_a_clear_message(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, url=lemmy.add_remote_file("bad.jpg", photos[BAD]))
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])]),
        strict=True,
    )
    page = "<html><body><h1>Down for maintenance</h1></body></html>"
    for spoil, said in [
        (lambda body: page, "HTTP 200 but not JSON (text/html: '<html><body><h1>Down for"),
        (
            lambda body: {**body, "posts": {"0": body["posts"][0]}},
            "Lemmy's answer has no list 'posts' (got an object)",
        ),
        (lambda body: [body], "JSON that is a list, not an object"),
    ]:
        lemmy.tamper("/api/v3/post/list", spoil, times=1)
        failed = bot("run", "--once", rc=1)
        assert said in failed.stderr
        assert not lemmy.post(post.id).removed
    bot("run", "--once")
    assert lemmy.post(post.id).removed


def test_the_daemon_survives_malformed_pages_and_decides_the_post_once_they_pass(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, url=lemmy.add_remote_file("bad.jpg", photos[BAD]))
    lemmy.tamper("/api/v3/post/list", lambda body: {**body, "posts": {}}, times=2)
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(
            tmp_path, lemmy, tiny_checkpoint, poll_every="1s", known_bad=[sha(photos[BAD])]
        ),
        strict=True,
    )
    daemon = bot.start("run")
    err = Lines(daemon.stderr)
    try:
        wait_for(lambda: lemmy.post(post.id).removed, what="the post removed")
    finally:
        stop_daemon(daemon, err)
    log = err.text()
    assert daemon.returncode == 0, log[-3000:]
    assert (
        err.count("cycle 1 failed: LemmyBadAnswer: post/list: Lemmy's answer has no list 'posts'")
        == 1
    )
    assert err.count("cycle 2 failed: LemmyBadAnswer") == 1
    assert "Traceback" not in log


# --------------------------------------------------------------------------- paging


def old_posts(lemmy, photos, count: int) -> list[int]:
    cast, start = lemmy.cast, now() - timedelta(days=2)
    url = lemmy.add_remote_file("fine.jpg", photos["chelsea"])
    return [
        lemmy.add_post(
            cast.pics, cast.bob, name=f"p{i}", url=url, published=start + timedelta(minutes=i)
        ).id
        for i in range(count)
    ]


def loop_back():
    """A `tamper` that gives every page the first page's next_page: page 2 says its next
    page is page 2 again."""
    first: list[str] = []

    def change(body):
        first.append(first[0] if first else body["next_page"])
        return {**body, "next_page": first[0]}

    return change


def test_a_sweep_stops_when_next_page_points_back(fake_lemmy, photos, tiny_checkpoint, tmp_path):
    lemmy = fake_lemmy
    ids = old_posts(lemmy, photos, 140)
    lemmy.tamper("/api/v3/post/list", loop_back())
    bot = Bot(lemmy, tmp_path, write_removal_rules(tmp_path, lemmy, tiny_checkpoint), strict=True)
    done = bot("sweep", "--all", timeout=90)
    assert "Lemmy sent a next_page cursor it sent before" in done.stderr
    assert "done" in done.stdout
    assert requests_to(lemmy, "/api/v3/post/list") <= 4
    seen = {r["item"]["id"] for r in bot.decisions() if r["item"]["kind"] == "post"}
    assert seen == set(ids[-100:]), "the two pages it could read were decided"


def test_a_sweep_stops_when_lemmy_sends_the_same_page_under_new_cursors(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy = fake_lemmy
    old_posts(lemmy, photos, 60)
    newest = max(lemmy.state.posts)
    pads: list[int] = []

    def same_page(body):  # a fresh cursor every time, all naming the same post
        pads.append(len(pads) + 1)
        return {**body, "next_page": "P" + "0" * pads[-1] + f"{newest:x}"}

    lemmy.tamper("/api/v3/post/list", same_page)
    bot = Bot(lemmy, tmp_path, write_removal_rules(tmp_path, lemmy, tiny_checkpoint), strict=True)
    done = bot("sweep", "--all", timeout=90)
    assert "Lemmy sent a page it sent before" in done.stderr
    assert requests_to(lemmy, "/api/v3/post/list") <= 6


def test_a_poll_stops_when_next_page_points_back(fake_lemmy, photos, tiny_checkpoint, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_file("fine.jpg", photos["chelsea"])
    for i in range(150):
        lemmy.add_post(cast.pics, cast.bob, name=f"p{i}", url=url)
    lemmy.tamper("/api/v3/post/list", loop_back())
    bot = Bot(lemmy, tmp_path, write_removal_rules(tmp_path, lemmy, tiny_checkpoint), strict=True)
    done = bot("run", "--once")
    assert "posts: Lemmy sent a next_page cursor it sent before" in done.stderr
    assert requests_to(lemmy, "/api/v3/post/list") == 2


# --------------------------------------------------------------------------- time


def test_an_item_dated_a_year_ahead_is_decided_and_later_polls_still_read_every_page(
    fake_lemmy, tmp_path
):
    # Federation takes a remote `published` as sent: one dated ahead must not become the
    # watermark every later poll stops at (after one page: the rest waited for a sweep).
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="older", published=now() - timedelta(days=1))
    ahead = now() + timedelta(days=365)
    future_post = lemmy.add_post(cast.pics, cast.bob, name="from the future", published=ahead)
    future_comment = lemmy.add_comment(post, cast.bob, content="from the future", published=ahead)
    client = LemmyClient(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
    source = Source(client, Store(tmp_path / "state.sqlite3"), scope="live", uploads=False)

    def poll(deep: bool = False) -> set[tuple[str, int | str]]:
        items = [i for batch in source.poll(deep=deep) for i in batch]
        for item in items:
            source.mark_seen(item)
        return {(i.kind, i.id) for i in items}

    assert {("post", future_post.id), ("comment", future_comment.id)} <= poll()
    new = {("post", lemmy.add_post(cast.pics, cast.alice, name=f"new {n}").id) for n in range(120)}
    new |= {
        ("comment", lemmy.add_comment(post, cast.alice, content=f"c{n}").id) for n in range(120)
    }
    assert new <= poll(), "the poll after it read all three pages of each listing"
    # a watermark kept ahead (by an older modbot) counts as now: a deep poll reads back
    source.store.set_cursor("live:watermark:posts", ahead.isoformat())
    new = {("post", lemmy.add_post(cast.pics, cast.alice, name=f"more {n}").id) for n in range(60)}
    assert new <= poll(deep=True)
    # and is replaced by what the poll saw: left ahead, it would read as "now" after any
    # downtime, and a poll would stop short of what came meanwhile
    assert parse_time(source.store.get_cursor("live:watermark:posts")) <= now()


def test_lemmy_timeout_is_a_deadline_for_the_whole_request_reads_actions_and_pictrs(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    # A byte every half second: every read returns long before the timeout, the
    # answers would take many minutes in all.
    lemmy.trickle("/api/v3/post/list", 2, times=1)
    lemmy.trickle("/api/v3/post/remove", 2, times=1)
    lemmy.trickle("/internal/purge", 2, times=1, server="pictrs")
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(
            tmp_path, lemmy, tiny_checkpoint, timeout="2s", known_bad=[sha(photos[BAD])]
        ),
        strict=True,
    )
    done = bot("run", "--once")
    said = "timed out (no whole answer within lemmy.timeout, 2 s)"
    for what in ("GET /post/list", "pict-rs purge"):
        assert f"{what}: {said}; retry 1/5" in done.stderr, done.stderr[-3000:]
    # a removal Lemmy may have carried out is not sent again blind (0.19 has no
    # idempotency keys): the next cycle looks whether it was done
    assert f"remove post: {said}; not sent again" in done.stderr, done.stderr[-3000:]
    assert lemmy.post(post.id).removed and not lemmy.image_exists(upload.alias)
    # Timed by the fake, from each trickled request to its retry: the 2 s deadline and
    # the pause before retry 1, with room for a loaded machine; whereas the shortest
    # trickled answer (pict-rs's purge) takes over 30 s, the others many minutes.
    # (Not the whole run's time: the child's start, torch and the model, is not in it.)
    for server, path in (
        ("lemmy", "/api/v3/post/list"),
        ("pictrs", "/internal/purge"),
    ):
        at = [r.at for r in lemmy.requests if r.server == server and r.path == path]
        assert len(at) >= 2 and at[1] - at[0] < 15, (path, at)


def test_the_client_deadline_holds_for_every_retry(fake_lemmy):
    lemmy = fake_lemmy
    sleeps: list[float] = []
    client = LemmyClient(
        lemmy.url,
        "modbot",
        Secret("pw"),
        requests_per_minute=0,
        timeout=1.0,
        retries=2,
        sleep=sleeps.append,
    )
    client.login()
    lemmy.trickle("/api/v3/site", 4)
    started = time.monotonic()
    with pytest.raises(LemmyUnavailable, match=r"within lemmy.timeout, 1 s"):
        client.site()
    assert time.monotonic() - started < 3 * 1.0 + 1.0  # three tries of at most 1 s each
    assert sleeps == [0.5, 1.0]
    lemmy.trickle("/api/v3/site", 0)
    assert client.site()["my_user"]
    client.close()


# --------------------------------------------------------------------------- reads by id


@pytest.mark.both_lemmys
@pytest.mark.parametrize(
    "body",
    [{}, {"comment_view": None, "person_view": None}, {"person_view": {"person": {}}}],
    ids=["empty", "null-views", "person-without-id"],
)
def test_a_comment_or_person_read_by_id_without_its_view_is_a_bad_answer(fake_lemmy, body):
    # Read when checking whether a killed run's action took effect, and by `modbot undo`:
    # a 200 answer without the view is Lemmy answering wrongly, said as such (never a
    # KeyError traceback), so the caller's "cannot check" path takes it.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    comment = lemmy.add_comment(
        lemmy.add_post(cast.pics, cast.bob, name="p"), cast.bob, content="hi"
    )
    client_class = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    client = client_class(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0)
    lemmy.tamper(lemmy.api_path("/api/v3/comment"), lambda _: body)
    lemmy.tamper(lemmy.api_path("/api/v3/user"), lambda _: body)
    with pytest.raises(LemmyBadAnswer, match=rf"comment/{comment.id}: .*comment_view"):
        client.comment(comment.id)
    with pytest.raises(LemmyBadAnswer, match=rf"person/{cast.bob.id}: .*person"):
        client.person(cast.bob.id)
    lemmy.tamper(lemmy.api_path("/api/v3/comment"), None)
    lemmy.tamper(lemmy.api_path("/api/v3/user"), None)
    assert client.comment(comment.id).id == comment.id
    assert client.person(cast.bob.id).id == cast.bob.id
    client.close()
