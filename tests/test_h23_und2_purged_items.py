"""`modbot undo` of a decision whose rule removed and then purged the post
(`purge_item`): the post is gone from Lemmy for good, so its restore is listed as
"cannot undo" with why, in the preview too, and not sent; the rest of the decision's
undo (the ban) is done and the command exits 0, the next run the same. Through
`modbot.cli.main`, Lemmy 0.19 and 1.0."""

from __future__ import annotations

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_item: true
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def purged(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    posts = s.add_bad_posts(2)
    assert main(["run", "--once"]) == 0
    for post in posts:
        assert fake_lemmy.state.posts[post.id].purged, "the rule purged it"
        assert fake_lemmy.person(post.creator_id).banned
    capsys.readouterr()
    return s, posts


def restores(lemmy) -> list:
    path = lemmy.api_path("/api/v3/post/remove")
    return [r for r in lemmy.requests if r.path == path and (r.json or {}).get("removed") is False]


def test_a_purged_post_is_cannot_undo_and_the_ban_is_still_lifted(purged, capsys):
    s, posts = purged
    assert main(["undo", "--rule", "known abusive image"]) == 0
    out, err = capsys.readouterr()
    for post in posts:
        assert f"would restore post {post.id}" not in out, out
    assert out.count("purged for good") >= 2, out
    assert out.count("would lift the ban") == 2, out

    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "FAILED" not in err, err
    assert "no longer on Lemmy" not in out + err, out + err
    assert restores(s.lemmy) == [], "a purged post: no restore sent"
    for post in posts:
        assert not s.lemmy.person(post.creator_id).banned, out + err
    assert out.count("purged for good") >= 2, out

    # the same command again: nothing failed, nothing sent again
    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "FAILED" not in err, err
    assert restores(s.lemmy) == []
