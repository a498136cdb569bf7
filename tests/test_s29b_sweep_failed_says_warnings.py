"""A sweep that fails part-way (Lemmy or pict-rs unreachable mid-walk) says its warnings
on the terminal, as one that ends does.

Before: `modbot sweep` and `modbot sweep --store` repeated their warnings (and the
sweep its "not reached through Lemmy's listings" line) after the summary only when the
walk ended or was stopped. One that failed printed what it did first and the error: the
warnings were in its `--report` and in log lines long scrolled away, so an admin reading
the terminal after hours did not learn that the modlog could not be read, that the
media list could not be read, or how far a listing reached. Now the failed run says
them after what it did, once each, before the error."""

from __future__ import annotations

from support.cli import bot_environment
from support.policies import write_rules
from test_s28a_not_reached_resumed import MODLOG_CUT, SAID, _failing_after_the_modlog

from modbot.cli import main

REMOVED = (
    "warning: removed posts: the modlog could not be read (GET /api/v3/modlog: HTTP 400 "
    "couldnt_find_modlog); the posts moderators removed and their comments were not read"
)


def test_a_failed_sweep_says_its_warnings_on_the_terminal(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok")
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.fail_next("/api/v3/modlog", status=400, error="couldnt_find_modlog")
    # the communities are read after the posts, the modlog and the uploads: it fails there
    lemmy.fail_next("/api/v3/community/list", status=400, error="couldnt_find_community")

    assert main(["sweep", "--all"]) == 1
    out, err = capsys.readouterr()
    assert "couldnt_find_community" in err, err
    lines = out.splitlines()
    assert any("failed; done and recorded before: 1 items" in line for line in lines), out
    assert lines.count(REMOVED) == 1, out


def test_a_failed_sweep_says_what_the_listings_kept_from_it_on_the_terminal(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _failing_after_the_modlog(fake_lemmy, tiny, tmp_path, monkeypatch)
    assert main(["sweep", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "failed; done and recorded before" in out, out
    gaps = [line for line in out.splitlines() if SAID in line]
    assert len(gaps) == 1 and MODLOG_CUT.search(gaps[0]), out
    warned = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert [w for w in warned if "the bot account's settings hide content" in w], out
