"""Lemmy purges a post's link and thumbnail from pict-rs with the post (0.19 and 1.0),
the whole file with every alias of it. So `purge_item` of a post whose image is the same
file as an admin's upload would purge the admin's upload too: it is skipped, saying why,
and the rule's other actions go on."""

from __future__ import annotations

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
      purge_item: true
"""


def _run(lemmy, photos, tiny, tmp_path, monkeypatch) -> None:
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once"]) == 0


def _outcome(tmp_path, post_id: int) -> dict:
    store = Store(tmp_path / "state.sqlite3")
    try:
        records = [
            r
            for r in store.decisions()
            if r["item"]["kind"] == "post" and r["item"]["id"] == post_id
        ]
    finally:
        store.close()
    return next(a for r in records for a in r["actions"] if a["action"] == "purge_item")


@pytest.mark.both_lemmys
def test_purging_a_post_never_purges_an_admins_upload_of_its_image(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admins = lemmy.add_upload(cast.admin, photos[BAD])  # in Lemmy's media list, unposted
    alices = lemmy.add_upload(cast.alice, photos[BAD])  # the same bytes: one file
    post = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    _run(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert lemmy.image_exists(admins.alias), "purging the post purged the admin's upload"
    assert not [r for r in lemmy.mutating_requests() if "purge" in r.path]
    assert lemmy.post(post.id).removed  # the rule's remove is done
    outcome = _outcome(tmp_path, post.id)
    assert outcome["status"] == "skipped", outcome
    assert outcome["detail"] == (
        f"purging post {post.id} purges its image {alices.alias} from pict-rs too (Lemmy "
        "does, the whole file), which is an admin's upload or in an admin's post: never "
        "acted on"
    ), outcome


@pytest.mark.both_lemmys
def test_a_post_whose_image_no_admin_shares_is_purged(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bobs = lemmy.add_upload(cast.bob, photos[BAD])
    alices = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.nsfw, cast.alice, name="q", url=alices.url)
    _run(lemmy, photos, tiny, tmp_path, monkeypatch)
    assert [r.path for r in lemmy.mutating_requests() if "purge/post" in r.path]
    assert _outcome(tmp_path, post.id)["status"] == "done"
    assert not lemmy.image_exists(bobs.alias)  # Lemmy's purge takes the whole file
