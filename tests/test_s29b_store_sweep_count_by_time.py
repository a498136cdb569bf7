"""`modbot sweep --store` counts each stored file once, also when it goes on by time.

pict-rs starts again at its newest page when the page a walk asks for begins with a
file purged meanwhile; the walk then goes on by time, from a little after the last file
it finished (pict-rs lists a file by when it stored it, after validation), so the files
stored in that margin, walked already, come again. Before: they were counted again: a
store of 6 files, one purged mid-walk, ended "done: 7 of 6 stored files walked", and the
bar and its ETA ran past 100%. Now the files walked lately are remembered (with the
position, so a resumed walk too) and a file listed again is not counted again."""

from __future__ import annotations

from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore

SWEEP = ["sweep", "--store", "--page-size", "2", "--files-per-second", "0", "--dry-run"]


def test_a_store_sweep_going_on_by_time_counts_each_file_once(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    uploads = [lemmy.add_upload(lemmy.cast.alice, jpeg(i)) for i in range(6)]
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    stored_files = PictrsStore.stored_files
    calls = []

    def listing(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # the count, the first page (5, 4); the second starts at 3
            lemmy.purge_alias(uploads[3].alias)  # gone meanwhile (a user, an admin)
        return stored_files(self, *args, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", listing)
    lemmy.clear_requests()
    assert main(SWEEP) == 0
    out = capsys.readouterr().out
    hashes = [r for r in lemmy.requests if r.path == "/internal/hashes"]
    assert any("timestamp" in r.query for r in hashes)  # it went on by time
    # 6 counted when the walk started; 5 were there to walk, each counted once
    assert "done: 5 of 6 stored files walked; 5 items" in out, out
    assert lemmy.mutating_requests() == []
