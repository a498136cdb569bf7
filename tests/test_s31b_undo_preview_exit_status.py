"""The exit status of `modbot undo` without --yes (the preview), for an admin who
scripts it before the real undo (`modbot undo 12 && modbot undo 12 --yes`). Before, it
was 0 whatever the preview found, also when it said an undo "would ... but not now"
(the modlog unreadable, Lemmy down): the script went on to an undo that failed. Now it
is 1 when an undo would fail now (as --yes would then exit 1), also when Lemmy cannot be
reached at all; 0 when everything listed would be done (or is left as it is, or cannot
be undone), and when Lemmy is not asked because no login is given (the state file's
listing the admin asked for). Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import json
import socket

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


@pytest.fixture
def acted(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    """The bot removed a known-bad post and banned its author: (scenario, post, id)."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    return s, post, record["id"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.both_lemmys
def test_a_preview_whose_undo_would_fail_exits_1_as_the_undo_then_does(acted, capsys):
    s, post, decision = acted
    # the modlog answers an error Lemmy gives no retry for: nothing is undone blind
    s.lemmy.fail_next(s.lemmy.api_path("/api/v3/modlog"), times=1000, status=400, error="unknown")
    s.lemmy.clear_requests()

    code, out, err = run(capsys, "undo", str(decision))
    assert "but not now: cannot read Lemmy's modlog" in out, out
    assert code == 1, out + err
    assert "would fail now" in out and "nothing was changed" in out, out
    assert s.lemmy.mutating_requests() == []

    code, out, err = run(capsys, "undo", str(decision), "--yes")
    assert code == 1 and "FAILED" in err, out + err
    assert s.lemmy.post(post.id).removed, "not restored blind"


@pytest.mark.both_lemmys
def test_a_preview_that_cannot_reach_lemmy_exits_1(acted, capsys, monkeypatch):
    _, _, decision = acted
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("LEMMY_URL", f"http://127.0.0.1:{port}")

    code, out, err = run(capsys, "undo", str(decision))
    assert "Lemmy not asked (cannot reach it" in err, err
    assert "would restore post" in out, out
    assert code == 1, out + err


@pytest.mark.both_lemmys
def test_a_preview_without_a_login_lists_the_state_and_exits_0(acted, capsys, monkeypatch):
    _, post, decision = acted
    monkeypatch.delenv("LEMMY_PASSWORD")

    code, out, err = run(capsys, "undo", str(decision))
    assert "Lemmy not asked" in err and f"would restore post {post.id}" in out, out + err
    assert code == 0, out + err


@pytest.mark.both_lemmys
def test_a_preview_whose_undos_would_all_be_done_exits_0(acted, capsys):
    s, post, decision = acted
    s.lemmy.clear_requests()
    code, out, err = run(capsys, "undo", str(decision))
    assert code == 0, out + err
    assert f"would restore post {post.id}" in out and "would fail" not in out, out
    assert s.lemmy.mutating_requests() == []


def test_the_help_documents_the_previews_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["undo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Without --yes (the preview): 0" in text, text
