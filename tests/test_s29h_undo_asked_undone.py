"""A ban two decisions asked for (the second found the person banned already: "already
done"): the second holds the ban until it is undone. It counts as undone once `modbot
undo --yes` ran on it, whatever that undo found: here a moderator had removed its post
again (left as it is) and its share of the ban stayed for the first, so that undo
undid nothing (`undo of #N (nothing undone)`). The admin judged the decision wrong: it
holds the ban no more, and undoing the first lifts it, as --help says. Through
`modbot.cli.main` against the fake Lemmy 0.19."""

from __future__ import annotations

from support.acting import Scenario
from test_h24_undo_moderator_acted import as_person
from test_s27d_undo_ban_asked_too import ban_requests, decision_of, run

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad, type: post}
    then:
      remove: "known abusive image"
      ban: {scope: site, duration: permanent, remove_data: false, reason: "known abusive"}
"""


def test_a_decision_whose_undo_undid_nothing_holds_the_ban_no_more(
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
    s.list_bad(1)
    upload = s.lemmy.add_upload(spammer, s._image(1))
    s.posts.append(None)
    second = s.lemmy.add_post(s.lemmy.cast.pics, spammer, name="again", url=upload.url)
    assert main(["run", "--once"]) == 0
    capsys.readouterr()
    one, two = decision_of(capsys, first), decision_of(capsys, second)
    mod = as_person(s.lemmy, "mod")  # their own removal of the second post
    mod.restore_post(second.id, "looking again")
    mod.remove_post(second.id, "removed: spam")

    code, out = run(capsys, "undo", str(two["id"]), "--yes")
    assert code == 0, out
    assert "mod removed post" in out and "left as it is" in out, out
    assert f"the ban is the bot's ban for post:{first.id}" in out, out
    assert s.lemmy.person(spammer.id).banned, out
    code, out = run(capsys, "audit", "--item", f"post:{second.id}")
    assert f"undo of #{two['id']} (nothing undone)" in out, out

    code, out = run(capsys, "undo", str(one["id"]))
    assert "asked for this ban too" not in out and "would lift the ban" in out, out
    code, out = run(capsys, "undo", str(one["id"]), "--yes")
    assert code == 0, out
    assert not s.lemmy.person(spammer.id).banned, out
    assert ban_requests(s.lemmy) == [True, False], out
