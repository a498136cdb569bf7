"""When a post's image link fails (a 404, an HTML page), the bot checks the instance's
own copy of it instead: the thumbnail Lemmy stored in pict-rs, or the copy behind
Lemmy's image proxy; the decision record says which copy was checked and why. Rules see
the copy's labels, and `fetch_failed:` rules still see the original's failure (the copy
may not be what the link shows people). Through `python -m modbot run --once`."""

from __future__ import annotations

import json

import httpx
import pytest
from support.bot import Bot
from support.policies import DEFAULT_RULES, write_rules

from fakelemmy import hostile

RULES = (
    DEFAULT_RULES
    + """
  - name: dead link
    if: {fetch_failed: [http_4xx, not_an_image]}
    then: {report: "dead link: {{fetch_failed}}"}
"""
)


def post_url_record(bot, post):
    (record,) = [
        d
        for d in bot.decisions()
        if (d["item"]["kind"], d["item"]["id"]) == ("post", post.id)
        and d["image"]["location"] == "post_url"
    ]
    return record


@pytest.mark.slow
def test_a_taken_down_link_is_checked_through_the_stored_thumbnail(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    gone = lemmy.add_remote_behaviour("/taken-down.jpg", status=404, content_type="text/html")
    post = lemmy.add_post(cast.pics, cast.bob, name="was here", url=gone)
    thumbnail = lemmy.add_thumbnail(photos[tiny.flagged], post=post)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=RULES))

    bot("run", "--once")

    record = post_url_record(bot, post)
    assert record["skipped"] is None and "probe" in record["labels"]
    assert record["image"]["url"] == gone
    assert record["image"]["checked_url"] == thumbnail.url
    assert record["image"]["checked_copy"] == (
        f"checked the instance's cached copy: {thumbnail.url} (the original failed: "
        "http_404: the server answered HTTP 404)"
    )
    assert record["rule"] == "probe"
    assert record["matched"][1] == {
        "rule": "dead link",
        "conditions": ["fetch failed (http_404, the instance's copy checked)"],
        "outcome": "report already planned by 'probe'",
    }
    assert [r.reason[:13] for r in lemmy.reports] == ["probe matched"]
    asked = [r.path for r in lemmy.requests if r.method == "GET" and r.server != "lemmy"]
    assert "/taken-down.jpg" in asked
    assert record["image"]["original_failed"] == "http_404"

    # A report from the record decides the dead-link rule again as the run did: it sees
    # the original's failure, not only the copy's verdict.
    bot("report", "--since", "7d", "--out", "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    (again,) = [
        d
        for d in doc["decisions"]
        if (d["item"]["kind"], d["item"]["id"]) == ("post", post.id)
        and d["image"]["location"] == "post_url"
    ]
    assert again["matched"] == record["matched"]


@pytest.mark.both_lemmys
def test_an_html_answer_is_checked_through_the_image_proxy_copy(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    original = lemmy.add_remote_file("swapped.jpg", photos[tiny.others[0]])
    proxied = lemmy.proxy_url(original)
    assert httpx.get(proxied).status_code == 200  # someone viewed it: pict-rs has a copy
    lemmy.add_remote_behaviour("/swapped.jpg", hostile.html_page(), content_type="text/html")
    post = lemmy.add_post(cast.pics, cast.bob, name="swapped", url=proxied)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=RULES))

    bot("run", "--once")

    record = post_url_record(bot, post)
    assert record["skipped"] is None and record["image"]["checked_url"] == proxied
    assert record["image"]["checked_copy"] == (
        f"checked the instance's cached copy: {proxied} (the original failed: not_an_image: "
        "an HTML/XML page, not an image (served as text/html))"
    )
    # the copy was clean: the dead-link rule reports, saying the copy was checked
    assert [r.reason for r in lemmy.reports] == [
        "dead link: `an HTML/XML page, not an image (served as text/html)` (not_an_image); "
        "modbot checked the instance's copy of it instead"
    ]


def test_without_a_copy_of_its_own_the_image_is_recorded_as_not_downloaded(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    gone = lemmy.add_remote_behaviour("/gone.jpg", status=404, content_type="text/html")
    elsewhere = lemmy.add_remote_file("thumb.jpg", photos[tiny.others[0]])
    post = lemmy.add_post(cast.pics, cast.bob, name="gone", url=gone, thumbnail_url=elsewhere)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=RULES))

    bot("run", "--once")

    record = post_url_record(bot, post)  # a thumbnail on another host is no copy of ours
    assert record["skipped"] == "http_404" and "checked_url" not in record["image"]
    assert [r.reason for r in lemmy.reports] == [
        "dead link: `the server answered HTTP 404` (http_404)"
    ]
