"""`purge_image` purges the image file and nothing more: without pict-rs access or for a
remote image it is recorded `not_possible` with why, the rule's other actions still run,
the admins are told once, the safety valve does not count it, and the post is never
purged instead (that is `purge_item`). Through `python -m modbot run --once`."""

from __future__ import annotations

import json

from test_pipeline import (  # noqa: F401  (tiny is a fixture)
    BAD,
    Bot,
    remote_photo,
    sha,
    tiny,
    write_rules,
)

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
    assert 'class="status not_possible">not_possible</span> needs pict-rs access' in page
