"""`modbot undo --yes` of several decisions when Lemmy drops the bot's login part-way (a
logout, a password change, an admin revoking its sessions). Reads with a dropped login
go on silently as anonymous, and Lemmy 1.0 hides who acted in the modlog from anyone
but an admin: before, every undo after the drop failed, "Lemmy's modlog hides who acted
last on post 4 from the bot's account (an admin sees it)", a wrong reason and exit 1.
Now a modlog that hides who acted makes undo check its login (logging in again when
Lemmy answers as to an anonymous visitor) and read it once more: all are undone, each
once. Through `modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import pytest
from test_h23_undo_resume import removed, restores  # noqa: F401 (a fixture)

from modbot.cli import main

pytestmark = pytest.mark.both_lemmys


def test_a_login_dropped_mid_undo_does_not_read_as_a_hidden_modlog(removed, capsys):  # noqa: F811
    s, posts = removed

    def dropped_after_the_first_restore(body):
        s.lemmy.invalidate_tokens("modbot")
        return body

    s.lemmy.tamper(
        s.lemmy.api_path("/api/v3/post/remove"), dropped_after_the_first_restore, times=1
    )
    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "hides who acted" not in out + err, out + err
    assert not any(s.lemmy.post(p.id).removed for p in posts), out + err
    assert sorted(r.json["post_id"] for r in restores(s.lemmy)) == sorted(p.id for p in posts)
    assert "5 undone, 0 left as it is, 0 cannot undo, 0 failed" in out, out
