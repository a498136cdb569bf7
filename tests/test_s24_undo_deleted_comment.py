"""`modbot undo` of a comment the bot removed and its author then deleted: Lemmy does
not restore a deleted comment for a moderator, so the undo is "cannot undo" with why,
recorded `not_possible`, and never tried again. Against the fake Lemmy 0.19 and 1.0."""

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
"""

pytestmark = pytest.mark.both_lemmys


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def test_a_comment_its_author_deleted_is_cannot_undo_and_not_retried(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    s.list_bad(1)
    spammer = lemmy.add_person("spammer")
    upload = lemmy.add_upload(spammer, s._image(0))
    post = lemmy.add_post(cast.pics, cast.alice, name="a fine post")
    comment = lemmy.add_comment(post, spammer, content=f"look ![x]({upload.url})")
    assert main(["run", "--once"]) == 0
    assert lemmy.comment(comment.id).removed
    capsys.readouterr()
    with lemmy.state.lock:  # its author deleted it in lemmy-ui
        lemmy.state.comments[comment.id].deleted = True

    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0, out
    assert "FAILED" not in out and "deleted by its author" in out, out
    assert main(["audit", "--json", "--action", "restore"]) == 0
    (undo,) = json.loads(capsys.readouterr().out)["records"]
    (restore,) = [a for a in undo["actions"] if a["action"] == "restore"]
    assert restore["status"] == "not_possible", restore

    lemmy.clear_requests()
    code, out = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0 and "not tried again" in out, out
    assert lemmy.mutating_requests() == [], out
    assert lemmy.comment(comment.id).removed
