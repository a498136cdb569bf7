"""A ban two decisions asked for: the first banned the person, the second found them
banned already (its ban recorded "already done"). Undoing the first alone would lift the
ban the second, not undone, still asks for: its offence unpunished. `modbot undo` of the
first leaves the ban, says why and names the second; undoing both lifts it. Through
`modbot.cli.main` against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json
import re

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


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def ban_requests(lemmy) -> list[bool]:
    path = lemmy.api_path("/api/v3/user/ban")
    return [bool((r.json or {}).get("ban")) for r in lemmy.requests if r.path == path]


def decision_of(capsys, post) -> dict:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record


def test_a_ban_a_later_decision_asked_for_too_stays_until_both_are_undone(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    assert spammer.banned
    # the same person's second known-bad post: removed; the ban is in place already
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
    assert run(capsys, "run", "--once")[0] == 0
    assert s.lemmy.post(second.id).removed
    one, two = decision_of(capsys, first), decision_of(capsys, second)
    (asked,) = [a for a in two["actions"] if a["action"] == "ban"]
    assert asked["status"] == "skipped" and asked["detail"].startswith("already done"), two
    assert ban_requests(s.lemmy) == [True]

    # the first decision alone: its post restored, the ban stays for the second
    code, out = run(capsys, "undo", str(one["id"]))
    assert code == 0, out
    assert f"#{two['id']} (post:{second.id})" in out and "asked for this ban too" in out, out
    assert "would lift the ban" not in out, out
    # (the second post's upload, its own decision, asked too: named with it)
    (together,) = re.findall(r"modbot undo ([\d ]+)\)", out)
    assert {one["id"], two["id"]} <= {int(i) for i in together.split()}, out
    code, out = run(capsys, "undo", str(one["id"]), "--yes")
    assert code == 0, out
    assert f"done (#{one['id']}): restore post {first.id}" in out, out
    assert f"#{two['id']} (post:{second.id})" in out and "asked for this ban too" in out, out
    assert not s.lemmy.post(first.id).removed
    assert s.lemmy.person(spammer.id).banned, out
    assert ban_requests(s.lemmy) == [True], out

    # the second alone: the ban is the first decision's, not lifted by it
    code, out = run(capsys, "undo", str(two["id"]))
    assert code == 0, out
    assert f"the ban is the bot's ban for post:{first.id}" in out, out
    assert "would lift the ban" not in out, out

    # together, as said: lifted once, recorded as each decision's undo
    code, out = run(capsys, "undo", *together.split(), "--yes")
    assert code == 0, out
    assert re.search(rf"done \(#{one['id']}, .*#{two['id']}.*\): lift the ban", out), out
    assert not s.lemmy.person(spammer.id).banned
    assert not s.lemmy.post(second.id).removed
    assert ban_requests(s.lemmy) == [True, False], out
    code, said = run(capsys, "audit", "--json", "--action", "unban")
    undone = {r["undo_of"] for r in json.loads(said)["records"]}
    assert undone == {int(i) for i in together.split()}, said
