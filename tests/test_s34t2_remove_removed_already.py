"""The default rule (remove, purge_image, ban with ``remove_data``) met a spam wave: the
ban of the first post's author made Lemmy remove all their posts (0.19 and 1.0
``update_removed_for_creator``), yet the rule's ``remove`` of each next post was sent
anyway: a second modlog line in the bot's name for each, each counted against the
safety valve (20 an hour by default: a wave of ~20 posts tripped it, and the bot went
report-only mid-wave). Now a removal is read first: a post Lemmy shows removed already
is recorded covered, saying who removed it, not sent, not counted; `modbot undo` leaves
it (not the bot's removal), and the undo of the run restores what the bot did, the ban's
content with --restore-content (1.0) as documented. A read that fails: sent as before.
Through ``modbot.cli.main``, against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import time

import pytest
from support.bot import sha
from support.cli import bot_environment
from support.policies import write_rules
from test_h24_undo_moderator_acted import as_person

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: bad
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "bad"
      purge_image: true
      ban: {scope: site, duration: permanent, remove_data: true, reason: "known bad"}
"""

NAMES = ["astronaut", "chelsea", "china", "coffee", "grace_hopper"]


def _wave(lemmy, photos, tiny, tmp_path, monkeypatch, *, valve=20, dry_run=False):
    """Five known-bad posts of one person; the bot's run over them. Returns the posts."""
    cast = lemmy.cast
    posts = []
    for name in NAMES:
        upload = lemmy.add_upload(cast.alice, photos[name])
        posts.append(lemmy.add_post(cast.pics, cast.alice, name=name, url=upload.url))
    known_bad = [sha(photos[n]) for n in NAMES]
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=known_bad, rules=RULES, valve=valve)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.clear_requests()
    assert main(["run", "--once", *(["--dry-run"] if dry_run else [])]) == 0
    return posts


def _bot_removals(lemmy) -> list[int]:
    path = lemmy.api_path("/api/v3/post/remove")
    return [
        r.json["post_id"]
        for r in lemmy.requests
        if r.path == path and r.user == "modbot" and (r.json or {}).get("removed") is True
    ]


def _removes(store: Store) -> list[dict]:
    return [a for r in store.decisions() for a in r["actions"] if a["action"] == "remove"]


@pytest.mark.parametrize("fake_lemmy", ["0.19.12", "1.0"], indirect=True)
def test_a_post_the_ban_removed_is_not_removed_again_nor_counted(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy = fake_lemmy
    # a limit of 4: the removes sent again (1 remove + 1 purge + 1 ban + 4 removes)
    # tripped it on the third post
    posts = _wave(lemmy, photos, tiny, tmp_path, monkeypatch, valve=4)
    assert all(lemmy.post(p.id).removed for p in posts)
    assert lemmy.person(lemmy.cast.alice.id).banned
    (removed,) = _bot_removals(lemmy)  # the first post the bot acted on (the newest)
    (first,) = [p for p in posts if p.id == removed]
    rest = [p for p in posts if p is not first]
    store = Store(tmp_path / "state.sqlite3")
    try:
        assert store.valve_tripped() is None
        # the valve counts what was sent: the first post's remove and purge, the ban
        assert store.destructive_done_since(time.time() - 3600) == 3
        removes = {a["detail"].split(":")[0]: a for a in _removes(store)}
        assert removes[f"remove post {first.id}"]["status"] == "done", removes
        for post in rest:
            (said,) = [a for a in _removes(store) if f"post {post.id}:" in a["detail"]]
            assert said["status"] == "skipped", said
            assert "removed already" in said["detail"], said
            assert "ban" in said["detail"] and "not sent" in said["detail"], said
            assert store.action("remove", f"post:{post.id}")["status"] == "covered"
    finally:
        store.close()


def test_a_removal_whose_read_fails_is_sent_as_before(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """Lemmy cannot be asked whether the post is removed (a 400 on the read): the removal
    is never skipped on a guess; it is sent."""
    lemmy = fake_lemmy
    lemmy.fail_next("/api/v3/post", times=50, status=400, error="unknown")
    posts = _wave(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert sorted(_bot_removals(lemmy)) == sorted(p.id for p in posts)


def test_a_dry_run_sends_nothing_and_plans_each_removal(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy = fake_lemmy
    posts = _wave(lemmy, photos, tiny, tmp_path, monkeypatch, dry_run=True)
    assert lemmy.mutating_requests() == []
    assert not any(lemmy.post(p.id).removed for p in posts)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fake_lemmy", "restore_content"),
    [("1.0", True), ("1.0", False), ("0.19.12", False)],
    indirect=["fake_lemmy"],
)
def test_the_undo_of_the_wave_restores_what_the_bot_did(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys, restore_content
):
    """The bot removed the first post and banned its author with remove_data; Lemmy
    removed the rest. The undo restores the first post and lifts the ban; the ban's
    removals come back with --restore-content (1.0: Lemmy restores them), and stay
    removed without it, as documented: the bot never restores a removal not its own."""
    lemmy = fake_lemmy
    posts = _wave(lemmy, photos, tiny, tmp_path, monkeypatch)
    (removed,) = _bot_removals(lemmy)
    (first,) = [p for p in posts if p.id == removed]
    rest = [p for p in posts if p is not first]
    lemmy.clear_requests()
    capsys.readouterr()
    args = ["undo", "--rule", "bad", "--yes", *(["--restore-content"] if restore_content else [])]
    code = main(args)
    out = "".join(capsys.readouterr())
    assert code == 0, out
    assert not lemmy.person(lemmy.cast.alice.id).banned, out
    assert not lemmy.post(first.id).removed, out
    for post in rest:
        assert lemmy.post(post.id).removed is not restore_content, out
    # no restore of a post the bot did not remove was sent on its own
    path = lemmy.api_path("/api/v3/post/remove")
    restores = [
        r.json["post_id"]
        for r in lemmy.requests
        if r.path == path and (r.json or {}).get("removed") is False
    ]
    assert set(restores) <= {first.id}, (restores, out)


def test_a_sweep_does_not_remove_again_a_post_a_moderator_removed(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """`modbot sweep` reads the posts moderators removed (the modlog names them) for
    their images: the rule's removal of one was sent again, a line in the bot's name
    after the moderator's, after which `modbot undo` restored the moderator's removal."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    post = lemmy.add_post(cast.pics, cast.alice, name="coffee", url=upload.url)
    as_person(lemmy, "mod").remove_post(post.id, "spam, removed by a moderator")
    rules = RULES.replace(
        '      ban: {scope: site, duration: permanent, remove_data: true, reason: "known bad"}\n',
        "",
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos["coffee"])], rules=rules)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.clear_requests()
    assert main(["sweep"]) == 0
    assert _bot_removals(lemmy) == []
    store = Store(tmp_path / "state.sqlite3")
    try:
        (said,) = _removes(store)
        assert said["status"] == "skipped", said
        assert f"post {post.id}: removed already, by mod" in said["detail"], said
        assert "`modbot undo` leaves it" in said["detail"], said
        assert store.destructive_done_since(time.time() - 3600) == 1  # the purge only
    finally:
        store.close()
    assert main(["undo", "--rule", "bad", "--yes"]) == 0
    assert lemmy.post(post.id).removed
