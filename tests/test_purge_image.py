"""`purge_image` purges the image file and nothing more: without pict-rs access or for a
remote image it is recorded `not_possible` with why, the rule's other actions still run,
the admins are told once, the safety valve does not count it, and the post is never
purged instead (that is `purge_item`). Through `python -m modbot run --once`."""

from __future__ import annotations

import json

import httpx
import pytest
from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules

from modbot.store import Store

# As the shipped "classifier flags CSAM" rule, on the test model's `probe` label.
CLASSIFIER = """
  - name: classifier flags CSAM
    priority: 90
    moderators_exempt: false
    if: {labels: [probe]}
    then:
      remove: "Removed automatically: suspected abusive image. An admin will review it."
      purge_image: true
      notify_admins: "Possible CSAM: {{permalink}}"
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      notify_admins: "Known abusive image: {{permalink}}"
"""


def purge_outcomes(records):
    return {
        r["item"]["id"]: next(a for a in r["actions"] if a["action"] == "purge_image")
        for r in records
        if r["rule"]
    }


def test_a_remote_image_is_not_purgeable_and_the_post_is_only_removed(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    posts = [
        lemmy.add_post(
            cast.pics,
            cast.bob,
            name=f"flagged {i}",
            url=remote_photo(lemmy, photos, tiny.flagged, f"f{i}.jpg"),
        )
        for i in range(2)
    ]
    comment = lemmy.add_comment(posts[0], cast.alice, content="a reply, kept")
    # valve 3: three removals are allowed; a purge of each post would have tripped it.
    rules = write_rules(tmp_path, lemmy, tiny, valve=3, rules=CLASSIFIER)
    bot = Bot(lemmy, tmp_path, rules)
    run = bot("run", "--once", "--report", str(tmp_path / "run.json"))

    for post in posts:
        assert lemmy.post(post.id).removed and not lemmy.post(post.id).purged
    assert not lemmy.comment(comment.id).purged
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path]
    outcomes = purge_outcomes(bot.decisions(run.stdout))
    assert {o["status"] for o in outcomes.values()} == {"not_possible"}
    assert all(
        o["detail"].startswith("remote image: it is not stored in this instance's pict-rs")
        for o in outcomes.values()
    )
    store = Store(bot.state)
    assert store.valve_tripped() is None
    store.close()
    # One message per admin: both items, each saying its image was not purged, and the
    # reason told once.
    (message,) = [m.content for m in lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert message.count("purge_image cannot purge a remote image") == 1
    for post in posts:
        assert (
            f"Possible CSAM: {lemmy.url}/post/{post.id} [the image was not purged: it is a "
            f"remote image]"
        ) in message
    summary = json.loads((tmp_path / "run.json").read_text())["summary"]
    assert summary["by_action"]["purge_image"] == {"not_possible": 2}

    # Next run, another one: its own message, not the explanation again.
    later = lemmy.add_post(
        cast.pics, cast.bob, name="later", url=remote_photo(lemmy, photos, tiny.flagged, "f9.jpg")
    )
    bot("run", "--once")
    assert lemmy.post(later.id).removed and not lemmy.post(later.id).purged
    messages = [m.content for m in lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert len(messages) == 2 and "purge_image cannot" not in messages[1]
    assert f"{lemmy.url}/post/{later.id} [the image was not purged" in messages[1]
    store = Store(bot.state)
    assert store.valve_tripped() is None, "three removals, no purge: under the valve"
    store.close()


def test_without_pictrs_access_a_local_image_stays_and_the_admins_are_told_once(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    uploads = [lemmy.add_upload(cast.alice, photos[BAD]) for _ in range(2)]
    posts = [
        lemmy.add_post(cast.pics, cast.alice, name=f"bad {i}", url=u.url)
        for i, u in enumerate(uploads)
    ]
    lemmy.add_comment(posts[0], cast.bob, content="kept")
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=CLASSIFIER)
    bot = Bot(lemmy, tmp_path, rules, pictrs=False)
    run = bot("run", "--once", "--report", str(tmp_path / "run.html"))

    for post in posts:
        assert lemmy.post(post.id).removed and not lemmy.post(post.id).purged
    records = bot.decisions(run.stdout)
    by_kind = {}
    for r in records:
        if r["rule"]:
            by_kind.setdefault(r["item"]["kind"], []).append(
                next(a for a in r["actions"] if a["action"] == "purge_image")
            )
    # The posts' images: no pict-rs access. The uploads themselves: their delete tokens.
    assert [o["status"] for o in by_kind["post"]] == ["not_possible"] * 2
    assert by_kind["post"][0]["detail"].startswith(
        "needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY"
    )
    assert [o["status"] for o in by_kind["upload"]] == ["done"] * 2
    (message,) = [m.content for m in lemmy.private_messages if m.recipient_id == cast.admin.id]
    assert message.count("modbot has no pict-rs access. Set PICTRS_URL and PICTRS_API_KEY") == 1
    page = (tmp_path / "run.html").read_text()
    assert 'class="status not_possible">not possible</span> needs pict-rs access' in page


PURGE_IMAGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      purge_image: true
"""

REMOVE_AND_PURGE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
"""


def test_an_uploads_delete_token_is_never_logged_even_at_v(fake_lemmy, photos, tiny, tmp_path):
    """Without PICTRS_*, an upload is deleted with its token, which is part of the URL:
    httpx logs every URL at -v."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])  # never posted
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE),
        pictrs=False,
    )
    run = bot("-v", "run", "--once")
    assert not lemmy.image_exists(upload.alias), "deleted with its token"
    logs = run.stdout + run.stderr
    assert "/pictrs/image/delete/<delete-token>/" in logs
    assert upload.delete_token not in logs


def test_a_passing_failure_of_an_upload_delete_is_tried_again(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    pipeline.executor.purge_by_alias = False  # no PICTRS_*: the delete token is the way
    pipeline.client.retries, pipeline.client.backoff = 1, 0.01
    lemmy.fail_next("/pictrs/image/delete/*", times=2, status=502)
    first = pipeline.poll_once(deep=True)
    assert first.actions == {"purge_image:failed": 1} and lemmy.image_exists(upload.alias)
    (record,) = pipeline.store.decisions()
    assert "HTTP 502" in record["actions"][0]["detail"]
    assert upload.delete_token not in str(record)
    second = pipeline.poll_once(deep=True)
    assert second.actions == {"purge_image:done": 1}, "the upload is looked at again"
    assert not lemmy.image_exists(upload.alias)


def test_an_admins_upload_shown_in_someone_elses_post_is_not_purged(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    mine = lemmy.add_upload(cast.admin, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=mine.url)
    comment = lemmy.add_comment(post, cast.bob, content=f"![again]({mine.url})")
    for purge_by_alias in (False, True):  # with and without PICTRS_*
        pipeline = pipeline_for(
            lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE, dry_run=not purge_by_alias
        )
        pipeline.executor.purge_by_alias = purge_by_alias
        pipeline.poll_once(deep=True)
        assert lemmy.image_exists(mine.alias) and not lemmy.post(post.id).purged
        assert not [r for r in lemmy.mutating_requests() if "purge" in r.path or "delete" in r.path]
        records = [
            r
            for r in pipeline.store.decisions(run_id=pipeline.run_id)
            if r["item"]["kind"] in ("post", "comment")
        ]
        assert sorted(r["item"]["id"] for r in records) == sorted([post.id, comment.id])
        for r in records:
            assert r["actions"] == [
                {
                    "action": "purge_image",
                    "status": "skipped",
                    "detail": "the image is an admin's upload or in an admin's post: never acted on",
                }
            ]


def test_the_same_bytes_as_an_admins_upload_are_not_purged(fake_lemmy, photos, tiny, pipeline_for):
    """pict-rs keeps identical bytes as one file: purging alice's alias purges the admin's."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    mine = lemmy.add_upload(cast.admin, photos[BAD])
    pipeline.poll_once(deep=True)  # the admin's upload is looked at (and left alone)
    copy = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=copy.url)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(mine.alias) and lemmy.image_exists(copy.alias)
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert record["actions"][0]["status"] == "skipped"
    assert "admin's upload" in record["actions"][0]["detail"]


def test_one_file_under_several_aliases_is_purged_once(fake_lemmy, photos, tiny, pipeline_for):
    """A spammer uploads the same file three times (three aliases, one pict-rs file): the
    first purge removes every alias; the others must not be purged again, nor count
    against the safety valve."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    uploads = [lemmy.add_upload(cast.alice, photos[BAD]) for _ in range(3)]
    posts = [lemmy.add_post(cast.pics, cast.alice, url=u.url) for u in uploads]
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    pipeline.executor.max_destructive_per_hour = 4  # 3 removals + 1 purge
    stats = pipeline.poll_once(deep=True)
    assert all(lemmy.post(p.id).removed for p in posts), stats
    assert not lemmy.reports and not lemmy.private_messages, "the safety valve did not trip"
    purges = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert len(purges) == 1 and not any(lemmy.image_exists(u.alias) for u in uploads)
    assert stats.actions == {"remove:done": 3, "purge_image:done": 1, "purge_image:skipped": 2}
    skipped = [
        a["detail"]
        for r in pipeline.store.decisions()
        for a in r["actions"]
        if a["status"] == "skipped"
    ]
    assert len(skipped) == 2 and all("the same file" in d for d in skipped)
    assert pipeline.store.destructive_done_since(0) == 4
    # and across a restart: nothing is purged again
    again = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE_AND_PURGE)
    again.poll_once(deep=True)
    assert len([r for r in lemmy.requests if r.path == "/internal/purge"]) == 1


def test_the_image_of_an_admins_post_is_not_purged_through_a_comment(
    fake_lemmy, photos, tiny, pipeline_for
):
    """Lemmy stores a link's thumbnail itself (no uploader): an admin's post's thumbnail,
    shown again in someone else's comment, is still the admin's post's image."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[BAD])
    post = lemmy.add_post(
        cast.pics,
        cast.admin,
        name="news",
        url=lemmy.add_remote_file("article.html", b"<html></html>", content_type="text/html"),
        thumbnail_url=thumb.url,
    )
    comment = lemmy.add_comment(post, cast.alice, content=f"![this]({thumb.url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=PURGE_IMAGE)
    pipeline.poll_once(deep=True)
    assert lemmy.image_exists(thumb.alias)
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("comment", comment.id)
    ]
    assert "admin's post" in record["actions"][0]["detail"]


POSTS_PURGE_IMAGE = """
  - name: known abusive image in a post
    if: {hash_list: known-bad, type: post}
    then:
      purge_image: true
"""


@pytest.mark.parametrize("shown", ["proxy", "alias"])
def test_the_same_bytes_as_a_new_admins_upload_are_not_purged(
    fake_lemmy, photos, tiny, pipeline_for, shown
):
    """A remote image pict-rs cached for the image proxy is one file with an upload of
    the same bytes, as another local alias is: purging either purges that upload too.
    Its uploader became an admin since modbot looked at it (no exempt item shows the
    file), so the owners of the bytes are asked first, whichever way the post shows it."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=POSTS_PURGE_IMAGE)
    carol = lemmy.add_person("carol")
    theirs = lemmy.add_upload(carol, photos[BAD])
    pipeline.poll_once(deep=True)  # carol's upload: looked at, no rule for uploads
    with lemmy.state.lock:
        carol.admin = True
    if shown == "proxy":
        remote = lemmy.add_remote_file("again.jpg", photos[BAD])
        url = lemmy.proxy_url(remote)
        assert httpx.get(url).status_code == 200  # a viewer: pict-rs now holds a copy
    else:
        url = lemmy.add_upload(cast.alice, photos[BAD]).url
    post = lemmy.add_post(cast.pics, cast.alice, name="look", body=f"![x]({url})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=POSTS_PURGE_IMAGE)
    pipeline.poll_once(deep=True)  # a restart: the admins are read again
    assert lemmy.image_exists(theirs.alias)
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path]
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert record["actions"] == [
        {
            "action": "purge_image",
            "status": "skipped",
            "detail": "the image is an admin's upload or in an admin's post: never acted on",
        }
    ]


@pytest.mark.parametrize("action", ["purge_image", "delete_image"])
def test_the_sites_own_icon_and_banner_are_never_purged(
    fake_lemmy, photos, tiny, pipeline_for, action
):
    """Only an admin sets the site's icon and banner: an admin's images, also when
    nobody is known to have uploaded the file (Lemmy did not record uploaders before
    0.19; the fake's stand-in: a file stored without an uploader, never listed)."""
    lemmy = fake_lemmy
    icon, banner = lemmy.add_thumbnail(photos[BAD]), lemmy.add_thumbnail(photos[BAD])
    lemmy.site.icon, lemmy.site.banner = icon.url, banner.url
    rules = PURGE_IMAGE.replace("purge_image", action)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules)
    pipeline.sweep()
    assert lemmy.image_exists(icon.alias) and lemmy.image_exists(banner.alias)
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path or "delete" in r.path]
    records = {
        r["item"]["kind"]: r["actions"]
        for r in pipeline.store.decisions()
        if r["item"]["kind"] in ("site_icon", "site_banner")
    }
    assert records == {
        kind: [
            {
                "action": action,
                "status": "skipped",
                "detail": "an admin's image: never acted on",
            }
        ]
        for kind in ("site_icon", "site_banner")
    }
