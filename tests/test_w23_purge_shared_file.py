"""pict-rs keeps one file for identical bytes, under one alias per upload: purging it by
one alias deletes every upload of it. So a purge first asks pict-rs for the file's other
aliases: one an admin uploaded keeps the file (never acted on); one whose uploader modbot
has not listed yet could be an admin's, so only the alias at hand is deleted, and the
other is acted on when the bot sees it."""

from __future__ import annotations

from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: bad
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "bad"
      purge_image: true
"""


def _env(lemmy, photos, tiny, tmp_path, monkeypatch) -> None:
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


def _purges(lemmy) -> list[tuple[str, str]]:
    return [
        (r.path, r.query.get("alias", ""))
        for r in lemmy.mutating_requests()
        if r.path.startswith("/internal/")
    ]


def test_a_purge_never_deletes_an_admins_upload_of_the_same_bytes(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admins = lemmy.add_upload(cast.admin, photos[BAD])
    lemmy.add_post(cast.nsfw, cast.admin, name="for the mod team", url=admins.url)
    alices = lemmy.add_upload(cast.alice, photos[BAD])  # the same bytes: one file, 2 aliases
    post = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed  # the rule's remove is done
    assert lemmy.image_exists(admins.alias), "the admin's upload was purged"
    assert _purges(lemmy) == []


def test_a_file_with_an_upload_of_unknown_uploader_loses_this_alias_first(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # a thumbnail Lemmy made of the same bytes: no uploader in Lemmy's media list
    thumb = lemmy.add_thumbnail(photos[BAD])
    older = lemmy.add_post(cast.pics, cast.bob, name="a link", thumbnail_url=thumb.url)
    alices = lemmy.add_upload(cast.alice, photos[BAD])
    newer = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(newer.id).removed and lemmy.post(older.id).removed
    # newest first: alice's alias alone (the thumbnail's uploader unknown), then the
    # thumbnail's post: its file has no other alias left, purged
    assert _purges(lemmy) == [
        ("/internal/delete", alices.alias),
        ("/internal/purge", thumb.alias),
    ], _purges(lemmy)
    assert not lemmy.image_exists(alices.alias) and not lemmy.image_exists(thumb.alias)


def _planned_purges(report_path) -> list[tuple[str, str]]:
    import json

    report = json.loads(report_path.read_text())
    return [
        (action["status"], action["detail"])
        for decision in report["decisions"]
        for action in decision.get("actions", [])
        if action["action"] == "purge_image"
    ]


def test_a_dry_run_says_what_the_live_run_does_to_a_shared_file(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """The dry run asks pict-rs the same question (a read): it says the admin's file is
    never acted on, and that only alice's alias would go, as the live run then does."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admins = lemmy.add_upload(cast.admin, photos[BAD])
    lemmy.add_post(cast.nsfw, cast.admin, name="for the mod team", url=admins.url)
    alices = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    thumb = lemmy.add_thumbnail(photos[BAD])  # the same bytes again, uploader unknown
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    lemmy.clear_requests()
    assert main(["run", "--once", "--dry-run", "--report", str(tmp_path / "r.json")]) == 0
    assert lemmy.mutating_requests() == []
    planned = _planned_purges(tmp_path / "r.json")
    assert planned and all(status == "skipped" for status, _ in planned), planned
    assert any(f"the admin's upload {admins.alias}" in detail for _, detail in planned), planned
    assert thumb.alias  # (it is what makes the live run's answer "this alias only" elsewhere)


def test_a_dry_run_plans_the_one_alias_the_live_run_deletes(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    thumb = lemmy.add_thumbnail(photos[BAD])
    lemmy.add_post(cast.pics, cast.bob, name="a link", thumbnail_url=thumb.url)
    alices = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    lemmy.clear_requests()
    assert main(["run", "--once", "--dry-run", "--report", str(tmp_path / "r.json")]) == 0
    assert lemmy.mutating_requests() == []
    planned = _planned_purges(tmp_path / "r.json")
    assert any(
        status == "planned" and detail.startswith(f"delete alias {alices.alias} only")
        for status, detail in planned
    ), planned
