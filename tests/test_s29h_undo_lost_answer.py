"""`modbot undo --yes` whose unban reached Lemmy but whose answer was lost (a proxy's
page instead of Lemmy's JSON): that undo failed; the same command again must find it
done (Lemmy shows the person not banned), record it as the undo's own, done, and treat
the bot's ban as lifted (another offence bans anew). Before, the rerun read "Lemmy shows
person N not banned (lifted already): nothing sent" as someone else's doing: recorded
`unban:skipped`, and the bot still took its ban for in place, so the person's next
known-bad post found it "already done" and went unbanned. Through `modbot.cli.main`
against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

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


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def bans(lemmy) -> list[bool]:
    path = lemmy.api_path("/api/v3/user/ban")
    return [
        bool((r.json or {}).get("ban"))
        for r in lemmy.requests
        if r.path == path and r.user == "modbot"
    ]


def test_an_unban_whose_answer_was_lost_is_found_done_by_the_rerun(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (first,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    spammer = s.lemmy.person(first.creator_id)
    assert spammer.banned
    capsys.readouterr()
    code, out = run(capsys, "audit", "--json", "--item", f"post:{first.id}")
    (decision,) = json.loads(out)["records"]

    # Lemmy lifts the ban; the answer is lost on the way back (every retry's too)
    s.lemmy.tamper(s.lemmy.api_path("/api/v3/user/ban"), lambda _: "<html>oops</html>")
    code, out = run(capsys, "undo", str(decision["id"]), "--yes")
    s.lemmy.tamper(s.lemmy.api_path("/api/v3/user/ban"), None)
    assert code == 1 and "FAILED" in out, out
    assert not s.lemmy.person(spammer.id).banned, out
    sent = len(bans(s.lemmy))

    code, out = run(capsys, "undo", str(decision["id"]), "--yes")
    assert code == 0, out
    assert "lift the ban" in out and "Lemmy shows it done" in out, out
    assert "lifted already" not in out, out
    assert len(bans(s.lemmy)) == sent, "not sent again"
    code, said = run(capsys, "audit", "--json", "--action", "unban")
    statuses = [a["status"] for r in json.loads(said)["records"] for a in r["actions"]]
    assert statuses[-1] == "done", said

    # the bot's ban is lifted: the person's next known-bad post bans them anew
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
    assert main(["run", "--once"]) == 0
    assert s.lemmy.person(spammer.id).banned
    assert bans(s.lemmy)[-1] is True


def test_a_restore_whose_answer_was_lost_is_found_done_by_the_rerun(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    """The same for a restore: before, the rerun read the modlog's newest line, the
    bot's own restore, as "moderator modbot restored it already": `restore:skipped`."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (post,) = s.add_bad_posts(1)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    (decision,) = json.loads(out)["records"]
    path = s.lemmy.api_path("/api/v3/post/remove")
    s.lemmy.tamper(path, lambda _: "<html>oops</html>")
    code, out = run(capsys, "undo", str(decision["id"]), "--yes")
    s.lemmy.tamper(path, None)
    assert code == 1 and "FAILED" in out and not s.lemmy.post(post.id).removed, out
    sent = len([r for r in s.lemmy.requests if r.path == path])

    code, out = run(capsys, "undo", str(decision["id"]), "--yes")
    assert code == 0, out
    assert f"done (#{decision['id']}): restore post {post.id}" in out, out
    assert "Lemmy shows it done" in out and "already" not in out, out
    assert len([r for r in s.lemmy.requests if r.path == path]) == sent, "not sent again"
