"""`modbot sweep --store` going on by time twice in a row skips no file.

pict-rs starts again at its newest page when the page the walk asks for begins with a
file purged meanwhile; the walk then goes on by time from a margin after the last file
it finished (pict-rs lists a file by when it stored it, after external validation; its
details' ``created_at``, which the walk knows, is from before). Before, when the page
after such a step vanished too, the walk went on strictly older than that file's
details, without the margin: a file stored while that one was being validated was never
walked, and the sweep said "done". The store's count always kept the margin: the two
steps are one now, the count's."""

from __future__ import annotations

from datetime import timedelta

from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore

SWEEP = ["sweep", "--store", "--page-size", "1", "--files-per-second", "0", "--dry-run"]


def test_a_walk_going_on_by_time_twice_still_walks_a_file_validated_meanwhile(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    lemmy.pictrs.validation = timedelta(seconds=60)  # details made 60 s before listing
    uploads = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(6)]
    newest = max(lemmy.state.file_created.values())
    # stored (listed) at: u5 newest; u4, u3, u2 within the 60 s u5 was being validated
    for upload, seconds in zip(uploads, (200, 100, 30, 20, 10, 0), strict=True):
        lemmy.state.file_created[upload.sha256] = newest - timedelta(seconds=seconds)
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    stored_files = PictrsStore.stored_files
    calls = []

    def listing(self, *args, **kwargs):
        calls.append((args, kwargs))
        # 1: the count; 2: the first page (u5); 3: its next (u4), gone meanwhile; 4: by
        # time (u5 again, next u3); 5: u3, gone meanwhile too; 6: by time again
        if len(calls) == 3:
            lemmy.purge_alias(uploads[4].alias)
        if len(calls) == 5:
            lemmy.purge_alias(uploads[3].alias)
        return stored_files(self, *args, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", listing)
    lemmy.clear_requests()
    assert main(SWEEP) == 0
    out = capsys.readouterr().out
    by_time = [r for r in lemmy.requests if r.path == "/internal/hashes" and "timestamp" in r.query]
    assert len(by_time) == 2, by_time  # it went on by time twice
    # 6 counted when the walk started; u5, u2, u1, u0 were there to walk: each decided
    assert "done: 4 of 6 stored files walked; 4 items" in out, out
    assert lemmy.mutating_requests() == []
