"""`modbot undo` of a removal whose post or comment is gone from Lemmy for another reason
than the bot (an admin purged it; its author deleted the comment, which Lemmy then
restores no more): listed as cannot undo with why, recorded (`not_possible`) and never
tried again, no failure; the rest of the decision's undo is done. The preview says so
too. Through `modbot.cli.main`, against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(post.id).removed
    capsys.readouterr()
    return s, post


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def restores(lemmy) -> list:
    path = lemmy.api_path("/api/v3/post/remove")
    return [
        r
        for r in lemmy.requests
        if r.path == path and r.user == "modbot" and (r.json or {}).get("removed") is False
    ]


def test_a_post_an_admin_purged_is_cannot_undo_recorded_and_not_retried(removed, capsys):
    s, post = removed
    with s.lemmy.state.lock:  # an admin purged it in lemmy-ui
        s.lemmy.state.posts[post.id].purged = True

    code, out = run(capsys, "undo", "--rule", "known abusive image")
    assert code == 0, out
    assert f"would restore post {post.id}" not in out, out
    assert "cannot undo" in out and "no longer on Lemmy" in out, out

    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0, out
    assert "FAILED" not in out and "no longer on Lemmy" in out, out
    assert not s.lemmy.person(post.creator_id).banned, out  # the ban's undo is done
    assert main(["audit", "--json", "--action", "restore"]) == 0
    (undo,) = json.loads(capsys.readouterr().out)["records"]
    (restore,) = [a for a in undo["actions"] if a["action"] == "restore"]
    assert restore["status"] == "not_possible" and "no longer on Lemmy" in restore["detail"]

    s.lemmy.clear_requests()
    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0, out
    assert "not tried again" in out, out
    assert restores(s.lemmy) == [] and s.lemmy.mutating_requests() == [], out
    assert main(["audit", "--json", "--action", "restore"]) == 0
    assert len(json.loads(capsys.readouterr().out)["records"]) == 1  # recorded once


def test_a_post_gone_while_the_undo_is_sent_is_not_possible_not_failed(removed, capsys):
    """Purged between the modlog read and the restore: Lemmy refuses the restore as for
    a post it does not have."""
    s, _post = removed
    if s.lemmy.api_version == "v3":
        s.lemmy.fail_next("/api/v3/post/remove", status=400, error="couldnt_find_post")
    else:
        s.lemmy.fail_next("/api/v4/post/remove", status=404, error="not_found")
    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0, out
    assert "no longer on Lemmy" in out and "FAILED" not in out, out
    assert len(restores(s.lemmy)) == 1, out
    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0 and "not tried again" in out, out
    assert len(restores(s.lemmy)) == 1, out
