"""pict-rs keeps one file for identical bytes: the copy it cached of a remote image (Lemmy's
image proxy) is the same file as a local upload of those bytes, and purging the copy by its
URL (``/internal/purge?proxy=``) deletes every alias of it. So a purge of a cached copy asks
pict-rs for the file's aliases first, as a purge by alias does: one an admin uploaded, or
one whose uploader modbot does not know (besides the cached copy's own), keeps the file:
then only the copy's own alias is deleted (``/internal/delete?proxy=``)."""

from __future__ import annotations

import httpx
import pytest
from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main
from modbot.store import Store

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


def _pictrs_writes(lemmy) -> list[str]:
    return [r.path for r in lemmy.mutating_requests() if r.path.startswith("/internal/")]


def _purge_outcome(tmp_path, post_id: int) -> dict:
    store = Store(tmp_path / "state.sqlite3")
    try:
        (record,) = [
            r
            for r in store.decisions()
            if r["item"]["kind"] == "post" and r["item"]["id"] == post_id
        ]
    finally:
        store.close()
    return next(a for a in record["actions"] if a["action"] == "purge_image")


def _proxied_post(lemmy, photos, author):
    remote = lemmy.add_remote_file("again.jpg", photos[BAD])
    url = lemmy.proxy_url(remote)
    assert httpx.get(url).status_code == 200  # a viewer: pict-rs now holds a copy
    return lemmy.add_post(lemmy.cast.pics, author, name="look", body=f"![x]({url})")


@pytest.mark.both_lemmys
def test_a_cached_copy_shared_with_an_upload_of_unknown_uploader_is_not_purged(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # the same bytes stored by Lemmy with no uploader it lists (a thumbnail it made, an
    # upload older than its media list): it could be an admin's
    thumb = lemmy.add_thumbnail(photos[BAD])
    post = _proxied_post(lemmy, photos, cast.alice)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed  # the rule's remove is done
    assert lemmy.image_exists(thumb.alias), "the purge of the cached copy took another upload"
    assert "/internal/purge" not in _pictrs_writes(lemmy)
    # the cached copy's own alias only (as a purge by alias deletes its alias only)
    assert _pictrs_writes(lemmy) == ["/internal/delete"]
    assert not [u for u in lemmy.state.uploads.values() if u.proxy and not u.deleted]
    outcome = _purge_outcome(tmp_path, post.id)
    assert outcome["status"] == "done", outcome
    assert thumb.alias in outcome["detail"] and "uploader" in outcome["detail"], outcome
    assert "store sweep" in outcome["detail"], outcome


@pytest.mark.both_lemmys
def test_a_cached_copy_shared_with_an_admins_upload_is_not_purged(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admins = lemmy.add_upload(cast.admin, photos[BAD])  # in Lemmy's media list, unposted
    post = _proxied_post(lemmy, photos, cast.alice)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed
    assert lemmy.image_exists(admins.alias), "the purge of the cached copy took an admin's upload"
    assert "/internal/purge" not in _pictrs_writes(lemmy)
    outcome = _purge_outcome(tmp_path, post.id)
    assert outcome["status"] == "skipped" and admins.alias in outcome["detail"], outcome


@pytest.mark.both_lemmys
def test_a_cached_copy_alone_in_its_file_is_purged(fake_lemmy, photos, tiny, tmp_path, monkeypatch):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bobs = lemmy.add_upload(cast.bob, photos[BAD])  # a known uploader, no admin: goes too
    post = _proxied_post(lemmy, photos, cast.alice)
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed
    assert "/internal/purge" in _pictrs_writes(lemmy)
    assert not lemmy.image_exists(bobs.alias)
    assert _purge_outcome(tmp_path, post.id)["status"] == "done"


@pytest.mark.both_lemmys
def test_a_remote_image_pict_rs_holds_no_copy_of_is_not_recorded_purged(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """Nobody viewed it through the proxy (the bot reads the original): pict-rs has no copy.
    Recorded done, the audit said a purge happened that never did, and it counted against
    the safety valve's hourly limit."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("never-viewed.jpg", photos[BAD])
    url = lemmy.proxy_url(remote)
    post = lemmy.add_post(cast.pics, cast.alice, name="look", body=f"![x]({url})")
    _env(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert main(["run", "--once"]) == 0
    assert lemmy.post(post.id).removed
    assert "/internal/purge" not in _pictrs_writes(lemmy)
    outcome = _purge_outcome(tmp_path, post.id)
    assert outcome["status"] == "skipped", outcome
    assert (
        outcome["detail"] == f"nothing to purge: pict-rs holds no copy of remote image {remote}"
    ), outcome
