"""`modbot undo` in the moment the daemon's ban claim for a dead image link (no file, no
SHA-256: a `fetch_failed` rule's ban) found the bot's ban in place and the daemon has
not recorded that decision yet. Before, such an item was looked for in the audit only,
not found there, and the ban was lifted: the second offence unpunished. Now, as for an
item with a SHA-256, the daemon's journal says it is being recorded: the ban stays,
said so. Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import json

from support.acting import Scenario

from modbot.actions.executor import Executor
from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
  - name: dead image link
    if: {fetch_failed: true, type: post}
    then:
      remove: "dead image link"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "dead links"}
"""


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def decision_of(capsys, post) -> dict:
    code, out = run(capsys, "audit", "--json", "--item", f"post:{post.id}")
    assert code == 0, out
    (record,) = [r for r in json.loads(out)["records"] if r.get("undo_of") is None]
    return record


def unbans(lemmy) -> list[int]:
    path = lemmy.api_path("/api/v3/user/ban")
    return [
        int((r.json or {})["person_id"])
        for r in lemmy.requests
        if r.path == path and not (r.json or {}).get("ban")
    ]


def test_an_undo_while_the_daemon_records_a_dead_links_ban_leaves_the_ban(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    monkeypatch.setenv("MODBOT_RULES", s.env["MODBOT_RULES"])
    (first,) = s.add_bad_posts(1)
    assert run(capsys, "run", "--once")[0] == 0
    spammer = s.lemmy.person(first.creator_id)
    one = decision_of(capsys, first)
    dead = s.lemmy.add_post(
        s.lemmy.cast.pics, spammer, name="dead", url="http://127.0.0.1:9/dead.jpg"
    )

    said: list[tuple[int, str]] = []
    real = Executor._already

    def undo_in_the_gap(self, name, row, describe):
        if name == "ban" and not said:
            said.append(run(capsys, "undo", str(one["id"]), "--yes"))
        return real(self, name, row, describe)

    monkeypatch.setattr(Executor, "_already", undo_in_the_gap)
    assert run(capsys, "run", "--once")[0] == 0
    ((code, out),) = said
    assert code == 0, out
    assert f"done (#{one['id']}): restore post {first.id}" in out, out
    assert f"post:{dead.id} asked for this ban too just now" in out, out
    assert s.lemmy.person(spammer.id).banned, out
    assert unbans(s.lemmy) == [], out
    two = decision_of(capsys, dead)
    assert not (two.get("image") or {}).get("sha256"), two
    # recorded now: named with its id, and undone together the ban is lifted
    code, out = run(capsys, "undo", str(one["id"]))
    assert f"#{two['id']} (post:{dead.id}) asked for this ban too" in out, out
    code, out = run(capsys, "undo", str(one["id"]), str(two["id"]), "--yes")
    assert code == 0, out
    assert not s.lemmy.person(spammer.id).banned, out
    assert unbans(s.lemmy) == [spammer.id], out
