"""The default rule's ban with ``remove_data`` makes Lemmy (0.19.11+, 1.0) delete every
upload of the person; the rule's ``purge_image`` of their next posts then found pict-rs
without the alias (404): nothing was purged, yet each was recorded "done: purge pict-rs
file of alias X (every alias of it)" and counted against the safety valve (20 an hour by
default: a spam wave of a dozen posts tripped it on purges that never happened, and the
bot went report-only). Now such a purge says pict-rs had no such alias any more, and is
recorded covered: done, not counted."""

from __future__ import annotations

import time

import pytest
from support.bot import sha
from support.cli import bot_environment
from support.policies import write_rules

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


@pytest.mark.parametrize("fake_lemmy", ["0.19.12", "1.0"], indirect=True)
def test_a_purge_of_an_alias_the_ban_deleted_is_not_counted_as_a_purge(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for name in NAMES:
        upload = lemmy.add_upload(cast.alice, photos[name])
        lemmy.add_post(cast.pics, cast.alice, name=name, url=upload.url)
    known_bad = [sha(photos[n]) for n in NAMES]
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=known_bad, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once"]) == 0
    assert not any(lemmy.image_exists(u.alias) for u in lemmy.state.uploads.values())
    store = Store(tmp_path / "state.sqlite3")
    try:
        outcomes = [
            a
            for r in store.decisions()
            for a in r["actions"]
            if a["action"] == "purge_image" and r["item"]["kind"] == "post"
        ]
        purged = [a for a in outcomes if "no alias" not in a["detail"]]
        gone = [a for a in outcomes if "no alias" in a["detail"]]
        assert len(purged) == 1 and len(gone) == len(NAMES) - 1, outcomes
        assert all(a["status"] == "done" for a in outcomes), outcomes
        assert all("nothing purged" in a["detail"] for a in gone), gone
        # the valve counts what was done: the removes, the one purge, the ban
        removes = [a for r in store.decisions() for a in r["actions"] if a["action"] == "remove"]
        done_removes = sum(1 for a in removes if a["status"] == "done")
        assert store.destructive_done_since(time.time() - 3600) == done_removes + 1 + 1
    finally:
        store.close()


@pytest.mark.parametrize("fake_lemmy", ["0.19.12"], indirect=True)
def test_a_delete_of_an_alias_the_ban_deleted_is_not_counted(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for name in NAMES[:3]:
        upload = lemmy.add_upload(cast.alice, photos[name])
        lemmy.add_post(cast.pics, cast.alice, name=name, url=upload.url)
    rules = RULES.replace("purge_image: true", "delete_image: true")
    known_bad = [sha(photos[n]) for n in NAMES[:3]]
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=known_bad, rules=rules)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once"]) == 0
    store = Store(tmp_path / "state.sqlite3")
    try:
        outcomes = [
            a
            for r in store.decisions()
            for a in r["actions"]
            if a["action"] == "delete_image" and r["item"]["kind"] == "post"
        ]
        gone = [a for a in outcomes if "nothing deleted" in a["detail"]]
        assert len(outcomes) == 3 and len(gone) == 2, outcomes
        assert all(a["status"] == "done" for a in outcomes), outcomes
        removes = [a for r in store.decisions() for a in r["actions"] if a["action"] == "remove"]
        done_removes = sum(1 for a in removes if a["status"] == "done")
        assert store.destructive_done_since(time.time() - 3600) == done_removes + 1 + 1
    finally:
        store.close()


def test_a_cached_copy_delete_that_finds_no_copy_is_not_counted(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """pict-rs could not list the copy's aliases (its 500s), so only the copy's own alias
    is to be deleted; there is no copy (nobody viewed it through the proxy): pict-rs
    answers 404 and nothing is deleted, which the record says, uncounted."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("never-viewed.jpg", photos["coffee"])
    url = lemmy.proxy_url(remote)
    lemmy.add_post(cast.pics, cast.alice, name="look", body=f"![x]({url})")
    rules = RULES.replace(
        '      ban: {scope: site, duration: permanent, remove_data: true, reason: "known bad"}\n',
        "",
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos["coffee"])], rules=rules)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.fail_next("/internal/aliases", times=50, status=500, server="pictrs")
    assert main(["run", "--once"]) == 0
    deletes = [r for r in lemmy.mutating_requests() if r.path == "/internal/delete"]
    store = Store(tmp_path / "state.sqlite3")
    try:
        (outcome,) = [
            a
            for r in store.decisions()
            for a in r["actions"]
            if a["action"] == "purge_image" and r["item"]["kind"] == "post"
        ]
        assert len(deletes) == 1, deletes
        assert outcome["status"] == "done" and "nothing deleted" in outcome["detail"], outcome
        assert store.destructive_done_since(time.time() - 3600) == 1  # the remove only
    finally:
        store.close()
