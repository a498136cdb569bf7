"""`modbot audit` lists an undo's record as `undo of #ID`. One whose every action was
left as it is (a moderator removed the post again, an admin banned the person again),
found not possible or failed undid nothing: before, it read `undo of #12:
restore:skipped unban:skipped`, as if decision #12 had been undone. Now such a record
says `undo of #12 (nothing undone):`; one that undid something reads as before.
Through `modbot.cli.main` against the fake Lemmy 0.19."""

from __future__ import annotations

from test_h24_undo_moderator_acted import acted, as_person, run  # noqa: F401 (a fixture)


def audit_line(capsys, decision: int) -> str:
    code, out = run(capsys, "audit")
    assert code == 0, out
    (line,) = [line for line in out.splitlines() if f"undo of #{decision}" in line]
    return line


def test_an_undo_that_undid_nothing_is_not_listed_as_an_undo(acted, capsys):  # noqa: F811
    s, post, decision = acted
    mod = as_person(s.lemmy, "mod")
    mod.restore_post(post.id, "looking again")
    mod.remove_post(post.id, "removed: off topic")
    admin = as_person(s.lemmy, "admin")
    admin.unban_site(post.creator_id, "looking into it", restore_data=False)
    admin.ban_site(post.creator_id, "my own ban", expires=None, remove_data=False)

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert s.lemmy.post(post.id).removed and s.lemmy.person(post.creator_id).banned, out
    line = audit_line(capsys, decision)
    assert f"undo of #{decision} (nothing undone): restore:skipped unban:skipped" in line, line


def test_an_undo_that_undid_part_is_listed_as_an_undo(acted, capsys):  # noqa: F811
    s, post, decision = acted
    mod = as_person(s.lemmy, "mod")
    mod.restore_post(post.id, "looking again")
    mod.remove_post(post.id, "removed: off topic")

    code, out = run(capsys, "undo", str(decision), "--yes")
    assert code == 0, out
    assert not s.lemmy.person(post.creator_id).banned, out
    line = audit_line(capsys, decision)
    assert f"undo of #{decision}: restore:skipped unban:done" in line, line
