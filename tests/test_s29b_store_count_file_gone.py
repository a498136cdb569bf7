"""The store sweep's count (the total of its bar, its ETA and its summary) is true when
a file goes while it counts.

Before: the counting pass followed pict-rs' pages by slug and did not see that pict-rs
started again at its newest page when the page it asked for began with a file purged
meanwhile (a user deleting an upload): it counted the newest pages again. A store of
6 files, one purged while counted, gave a total of 7, and the walk ended "done: 5 of 7
stored files walked" (on a large store, the total off by thousands and the ETA with
it). Now the count goes on by time as the walk does, each file counted once."""

from __future__ import annotations

from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot import store_source
from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore

SWEEP = ["sweep", "--store", "--files-per-second", "0", "--dry-run"]


def test_a_file_purged_while_the_store_is_counted_is_not_counted_twice(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    uploads = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(6)]
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    monkeypatch.setattr(store_source, "COUNT_PAGE", 2)  # pages of 1,000 scaled down
    stored_files = PictrsStore.stored_files
    calls = []

    def listing(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # the count's second page starts at uploads[3]: gone meanwhile
            lemmy.purge_alias(uploads[3].alias)
        return stored_files(self, *args, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", listing)
    lemmy.clear_requests()
    assert main(SWEEP) == 0
    out = capsys.readouterr().out
    hashes = [r for r in lemmy.requests if r.path == "/internal/hashes"]
    assert any("timestamp" in r.query for r in hashes)  # the count went on by time
    assert "done: 5 of 5 stored files walked; 5 items" in out, out
    assert lemmy.mutating_requests() == []
