"""A live `modbot sweep` whose rule tells the admins (`notify_admins`) decided each post
it removed twice in the same run: the item waits for the admins' message before it is
recorded (and marked seen), and meanwhile the walk's later phase over removed posts
handed it out again; the second record said every action "already done" (nothing sent
twice, but the audit and the report showed each post twice). Found by T. An item
waiting for the admins' message is no longer handed out again."""

from __future__ import annotations

from support.acting import Scenario, fake_lemmy


def test_a_live_sweep_decides_each_removed_post_once(tmp_path, tiny_checkpoint):
    lemmy = fake_lemmy()
    try:
        s = Scenario(lemmy, tmp_path, tiny_checkpoint)  # its rules tell the admins
        s.add_bad_posts(3)
        done = s.run("sweep", "--all")
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        lemmy.stop()
    bad = {p.id for p in s.posts}
    records = [r for r in s.decisions() if r["item"]["kind"] == "post" and r["item"]["id"] in bad]
    assert sorted(r["item"]["id"] for r in records) == sorted(bad), [
        (r["item"]["id"], [a["status"] for a in r["actions"]]) for r in records
    ]
    assert s.sent("remove") == s.expected("remove")
