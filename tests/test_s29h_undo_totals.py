"""`modbot undo --yes` of many decisions ends with its totals: before, it printed a line
per undo, then only `undo run X: recorded in the audit`, and an admin undoing a rule's
hundred decisions had to count the lines to know whether everything was undone. Now the
last line says how many were undone, left as it is, cannot be undone, failed and not
tried; the exit status is 1 when one failed or was not tried, 0 otherwise (as --help
says). Through `modbot.cli.main` against the fake Lemmy 0.19."""

from __future__ import annotations

import json

from support.acting import Scenario
from test_h24_undo_moderator_acted import as_person

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_undo_ends_with_its_totals_and_an_exit_status_that_says_a_failure(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    posts = s.add_bad_posts(4)
    assert main(["run", "--once"]) == 0
    assert all(s.lemmy.post(p.id).removed for p in posts)
    capsys.readouterr()
    assert main(["audit", "--json"]) == 0  # the undos go in the decisions' order
    records = json.loads(capsys.readouterr().out)["records"]
    posts = [s.lemmy.post(r["item"]["id"]) for r in records if r["item"]["kind"] == "post"]
    mod = as_person(s.lemmy, "mod")  # their own removal: left as it is
    mod.restore_post(posts[0].id, "looking again")
    mod.remove_post(posts[0].id, "removed: off topic")
    with s.lemmy.state.lock:  # an admin purged it: cannot be restored
        s.lemmy.state.posts[posts[1].id].purged = True
    # the third one's restore: past the retries; the fourth is not tried
    s.lemmy.fail_next("/api/v3/post/remove", times=6, status=502)

    code, out, err = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 1, out + err
    last = out.splitlines()[-1]
    assert "0 undone, 1 left as it is, 1 cannot undo, 1 failed, 1 not tried" in last, out
    assert "recorded in the audit (modbot audit --run " in last, out

    code, out, err = run(capsys, "undo", "--rule", "known abusive image", "--yes")
    assert code == 0, out + err
    assert not s.lemmy.post(posts[2].id).removed and not s.lemmy.post(posts[3].id).removed
    last = out.splitlines()[-1]
    assert "2 undone, 1 left as it is, 1 cannot undo, 0 failed, 0 not tried" in last, out
