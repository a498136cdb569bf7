"""Many images in one item, through `python -m modbot run --once`: at most
`fetch.max_images_per_item` are checked (the rest are recorded as skipped, and rules can
act on that), the bodies held at once stay within `fetch.max_bytes_held`, and one item's
downloads get `fetch.item_timeout` in all, so a hostile item does not hold up the others."""

from __future__ import annotations

import re

from support.bot import Bot, sha
from support.policies import BAD, DEFAULT_RULES, write_rules

from fakelemmy import hostile

MB = 1024 * 1024

SKIP_RULES = (
    DEFAULT_RULES
    + """
  - name: too many images
    if: {skipped: too_many_images}
    then: {report: "{{type}} with more images than modbot checks ({{skipped}})"}
"""
)


def test_a_comment_of_a_hundred_links_costs_twenty_downloads_and_bounded_memory(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    big = lemmy.add_remote_file("big.jpg", hostile.large_file(20 * MB))  # a valid JPEG, padded
    post = lemmy.add_post(
        cast.pics,
        cast.alice,
        name="fine",
        url=lemmy.add_upload(cast.alice, photos[tiny.flagged]).url,
    )
    comment = lemmy.add_comment(post, cast.bob, content=hostile.many_links(big, 100))
    assert len(comment.content) < 4096
    # two bodies at most in memory at once (a download holds max_bytes while it runs)
    rules = write_rules(
        tmp_path, lemmy, tiny, rules=SKIP_RULES, fetch=", max_bytes: 25MB, max_bytes_held: 50MB"
    )
    bot = Bot(lemmy, tmp_path, rules)

    out = bot("run", "--once").stdout
    records = [r for r in bot.decisions() if r["item"]["kind"] == "comment"]
    assert len(records) == 100, "one record per image found"
    checked = [r for r in records if r["skipped"] is None]
    skipped = [r for r in records if r["skipped"] == "too_many_images"]
    assert len(checked) == 20 and len(skipped) == 80
    assert {r["image"]["sha256"] for r in checked} == {sha(hostile.large_file(20 * MB))}
    assert skipped[0]["skipped_detail"] == (
        "image 21 of 100 in this comment: only the first 20 are checked (fetch.max_images_per_item)"
    )
    downloads = [r for r in lemmy.requests if r.server == "remote" and r.path == "/big.jpg"]
    assert len(downloads) == 20
    # the moderator's rule about it: one report for the comment (one per item)
    acted = [r for r in skipped if r["rule"] == "too many images"]
    assert len(acted) == 80 and acted[0]["matched"] == [
        {"rule": "too many images", "conditions": ["skipped (too_many_images)"], "outcome": "acted"}
    ]
    reports = [r for r in lemmy.reports if (r.kind, r.target_id) == ("comment", comment.id)]
    assert [r.reason for r in reports] == [
        "comment with more images than modbot checks (too_many_images)"
    ]
    # the good post beside it is decided as usual
    (decided,) = [r for r in bot.decisions() if r["item"]["kind"] == "post"]
    assert decided["rule"] == "probe" and decided["actions"][0]["status"] == "done"
    # what the budget allowed: 20 bodies of 20 MB went through, never more than 50 MB held
    held = re.search(r"downloads (\d+) MB of 50 MB", out)
    assert held and 20 <= int(held.group(1)) <= 50, out


def test_a_hostile_item_does_not_hold_up_the_others(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    slow = lemmy.add_remote_behaviour("/slow.jpg", hostile.jpeg(), trickle_bytes_per_s=1)
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    first = lemmy.add_post(cast.pics, cast.alice, name="known bad", url=bad.url)
    hostile_post = lemmy.add_post(
        cast.pics, cast.bob, name="sixty slow links", body=hostile.many_links(slow, 60)
    )
    flagged = lemmy.add_upload(cast.bob, photos[tiny.flagged])
    last = lemmy.add_post(cast.pics, cast.bob, name="flagged", url=flagged.url)
    later = lemmy.add_comment(first, cast.alice, content=f"![again]({flagged.url})")
    rules = write_rules(
        tmp_path,
        lemmy,
        tiny,
        known_bad=[sha(photos[BAD])],
        fetch=", max_images_per_item: 100, item_timeout: 6s",
    )
    rules.write_text(rules.read_text() + "schedule: {poll_every: 15s}\n")
    bot = Bot(lemmy, tmp_path, rules)

    bot("run", "--once")
    records = bot.decisions()
    slow_records = [
        r for r in records if (r["item"]["kind"], r["item"]["id"]) == ("post", hostile_post.id)
    ]
    assert len(slow_records) == 60
    assert {r["skipped"] for r in slow_records} == {"item_timeout"}
    assert slow_records[0]["skipped_detail"] == (
        "this post's images took longer than 6 s to download in all (fetch.item_timeout)"
    )
    # The good items of the same poll are decided and acted on: those of the same page
    # while the hostile one is still downloading, the next page within the poll interval.
    poll = min(r.at for r in lemmy.requests if r.path == "/api/v3/post/list")
    removed = next(r.at for r in lemmy.requests if r.path == "/api/v3/post/remove")
    reported = next(r.at for r in lemmy.requests if r.path == "/api/v3/post/report")
    commented = next(r.at for r in lemmy.requests if r.path == "/api/v3/comment/report")
    gave_up = max(r["decided_at"] for r in slow_records)
    assert removed - poll < 6 and reported - poll < 6, "before the hostile post's time was up"
    assert commented - poll < 15, "within one poll interval"
    assert lemmy.post(first.id).removed and lemmy.person(cast.alice.id).banned
    assert {(r.kind, r.target_id) for r in lemmy.reports} == {
        ("post", last.id),
        ("comment", later.id),
    }
    assert gave_up  # the hostile post is recorded too (as skipped), not left for later


def test_time_waiting_for_memory_does_not_count_against_an_item():
    # The item's clock (modbot.acquire.ItemClock) on a clock the test moves by hand.
    import asyncio

    from modbot.acquire import ItemClock as _ItemClock

    class Clock:
        now = 100.0

        def time(self):
            return self.now

        def call_later(self, delay, callback):  # the deadline's timer: never due here
            return asyncio.get_running_loop().call_later(delay + 3600, callback)

    async def scenario():
        item = _ItemClock(10.0)
        item.loop = fake = Clock()
        item._since = fake.now
        item.pending = 2
        item.update()
        fake.now += 4  # two downloads running: 4 s count
        item.waiting = 2  # both now wait for room in max_bytes_held
        item.update()
        fake.now += 60  # a minute waiting for memory: nothing counts
        item.waiting = 1  # one got room: it runs again
        item.update()
        fake.now += 3
        item.update()
        return item.left

    assert asyncio.run(scenario()) == 3.0


def test_an_items_clock_runs_out_on_time_and_stops_while_waiting_for_memory():
    import asyncio

    from modbot.acquire import ItemClock

    async def scenario():
        loop = asyncio.get_running_loop()
        clock = ItemClock(0.4)
        start = loop.time()
        clock.pending = 1  # one download running
        clock.update()
        out = asyncio.ensure_future(clock.run_out())
        await asyncio.sleep(0.1)
        clock.pending = 2  # another joins: the clock runs on, to the same deadline
        clock.update()
        await asyncio.sleep(0.1)
        clock.waiting = 2  # both wait for room in max_bytes_held: the clock stops
        clock.update()
        await asyncio.sleep(0.6)
        assert not out.done(), "time waiting for memory does not count"
        clock.waiting = 1  # one got room: ~0.2 s left
        clock.update()
        await asyncio.wait_for(out, 5)
        return loop.time() - start

    took = asyncio.run(scenario())
    assert 0.95 <= took < 2.0, took


def test_room_for_a_body_is_held_at_once_only_when_nobody_waits():
    import asyncio

    from modbot.fetch.budget import BodyBudget

    async def scenario():
        budget = BodyBudget(100)
        first = budget.hold_now(60)
        assert first is not None and budget.in_use == 60
        assert budget.hold_now(60) is None and budget.in_use == 60, "no room: nothing held"
        waiting = asyncio.ensure_future(budget.hold(60))
        await asyncio.sleep(0)
        assert budget.hold_now(10) is None, "one waits already: first come, first served"
        first.release()
        second = await asyncio.wait_for(waiting, 1)
        assert budget.in_use == 60 and budget.waits == 1
        second.release()
        assert budget.in_use == 0

    asyncio.run(scenario())
