"""`modbot undo`'s preview of an undo whose last try failed though Lemmy did it (its
answer lost: a proxy's page) says what `--yes` then does: records it done, nothing sent.

Before: the preview said "would not lift the ban ...: Lemmy shows person N not banned
(lifted already): nothing sent" and "would not restore post N: ... restored it
already", someone else's doing, while `--yes` records both as the undo's own, done.
Through `modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json
import re

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_preview_of_an_undo_lemmy_did_says_it_is_recorded_done(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE", "MODBOT_RULES"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    spammer = s.lemmy.person(post.creator_id)
    capsys.readouterr()
    _, out, _ = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    decision = json.loads(out)["records"][0]["id"]

    ban, remove = (s.lemmy.api_path(f"/api/v3/{p}") for p in ("user/ban", "post/remove"))

    def lost(path: str) -> None:
        """`undo --yes` whose ``path`` Lemmy does, its answer lost on the way back."""
        s.lemmy.tamper(path, lambda _: "<html>oops</html>")
        code, out, err = run(capsys, "undo", str(decision), "--yes")
        s.lemmy.tamper(path, None)
        assert code == 1 and "FAILED" in err, (out, err)

    def preview() -> str:
        sent = len(s.lemmy.requests)
        code, out, err = run(capsys, "undo", str(decision))
        assert code == 0, (out, err)
        assert "would not" not in out and "lifted already" not in out, out
        assert "restored it already" not in out, out
        writes = [r for r in s.lemmy.requests[sent:] if r.method == "POST"]
        assert [r.path for r in writes if "login" not in r.path] == [], writes
        return out

    shown_done = "an earlier attempt failed, but Lemmy shows it done: nothing sent"
    lost(remove)  # the restore fails; the unban is not tried
    assert not s.lemmy.post(post.id).removed
    out = preview()
    assert f"would record as done (#{decision}): restore post {post.id} ({shown_done})" in out
    assert re.search(
        rf"^would lift the ban of \S+/u/{spammer.name} from the site \(#{decision}\)", out, re.M
    ), out

    lost(ban)  # the restore is recorded done; the unban fails
    assert not s.lemmy.person(spammer.id).banned
    out = preview()
    assert f"already undone (#{decision}): restore post {post.id}" in out, out
    assert (
        re.search(
            rf"^would record as done \(#{decision}\): lift the ban of \S+/u/{spammer.name} ",
            out,
            re.M,
        )
        and shown_done in out
    ), out

    code, out, err = run(capsys, "undo", str(decision), "--yes")
    assert code == 0 and "Lemmy shows it done" in out, (out, err)
    assert "1 undone, 1 undone before" in out, out
