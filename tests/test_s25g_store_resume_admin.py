"""A store sweep resumed after kill -9 knows whose uploads are whose as a fresh one does:
Lemmy's media list is read again, so an admin's upload made while the sweep was stopped
(the same bytes as a file the walk has still to reach: one file in pict-rs) keeps the
file, instead of being purged with it."""

from __future__ import annotations

import os
import signal

from support.bot import Bot, sha, wait_for
from support.policies import BAD
from test_store_sweep import file_decisions, jpeg, store_rules


def test_a_resumed_store_sweep_spares_an_admins_upload_made_meanwhile(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    alices = lemmy.add_upload(cast.alice, photos[BAD])  # the oldest: walked last
    clean = [lemmy.add_upload(cast.alice, jpeg(i)) for i in range(4)]
    rules = store_rules(tmp_path, lemmy, tiny_checkpoint, [sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    held = f"/pictrs/image/{clean[2].alias}"  # the second page's file
    lemmy.hold(held)
    child = bot.start("sweep", "--store", "--page-size", "1", "--files-per-second", "0")
    try:
        wait_for(lambda: any(r.path == held for r in lemmy.requests), what="the 2nd page")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        lemmy.release(held)
    assert not any(d["image"]["alias"] == alices.alias for d in file_decisions(bot))

    admins = lemmy.add_upload(cast.admin, photos[BAD])  # the same bytes: one file, 2 aliases
    lemmy.clear_requests()
    done = bot("sweep", "--store", "--page-size", "1", "--files-per-second", "0")
    assert "resuming" in done.stderr and "done: 5 of 5" in done.stdout, done.stdout
    assert lemmy.image_exists(admins.alias) and lemmy.image_exists(alices.alias)
    assert [r.path for r in lemmy.mutating_requests() if r.path.startswith("/internal/")] == []
    (record,) = [d for d in file_decisions(bot) if d["image"]["sha256"] == sha(photos[BAD])]
    assert record["exempt"] == "the author is an admin", record
    assert record["item"]["author_id"] == cast.admin.id
