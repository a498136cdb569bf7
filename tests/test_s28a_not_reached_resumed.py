"""What Lemmy's listings kept from a sweep is said by the sweep that ends, whichever
process walked that listing, and by a sweep that fails part-way.

Before: the limits a listing hit (0.19's modlog read no further than page 100, with how
far back it reached) lived in the Lemmy client's memory only. A sweep that failed or was
killed after the modlog and was resumed from its stored position ended without that
line (the admin never learned of the gap), and the partial report of the failed one had
neither that line nor any of the run's warnings. Now the lines are kept with the sweep's
position, in the same transaction, said by the sweep that ends it, and forgotten with
the position; the partial report carries them and the warnings."""

from __future__ import annotations

import json
import re

import httpx
from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.cli import main
from modbot.lemmy import v3

SAID = "not reached through Lemmy's listings"
MODLOG_CUT = re.compile(
    r"the comments of posts moderators removed before \d{4}-\d\d-\d\d \d\d:\d\d UTC: "
    r"Lemmy 0\.19 lists no further than page 2 \(10 post removals in the modlog\)"
)


def _gaps(out: str) -> str:
    lines = [line for line in out.splitlines() if SAID in line]
    assert len(lines) == 1, out  # said once
    return lines[0]


def _removals(lemmy, count: int) -> None:
    """``count`` posts an admin removed: the modlog names each."""
    with httpx.Client(base_url=lemmy.url, timeout=10) as admin:
        login = {"username_or_email": "admin", "password": PASSWORD}
        jwt = admin.post("/api/v3/user/login", json=login).json()["jwt"]
        admin.headers["Authorization"] = f"Bearer {jwt}"
        for i in range(count):
            post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name=f"r{i}")
            done = admin.post("/api/v3/post/remove", json={"post_id": post.id, "removed": True})
            assert done.status_code == 200, done.text


def _modlog_reads(lemmy) -> list:
    return [r for r in lemmy.requests if r.server == "lemmy" and r.path == "/api/v3/modlog"]


def _failing_after_the_modlog(lemmy, tiny, tmp_path, monkeypatch) -> None:
    """A 0.19 sweep that reads the modlog to its page limit, then fails."""
    # eleven removals: the modlog's page limit, scaled down to 2 pages of 5, is passed
    _removals(lemmy, 11)
    monkeypatch.setattr(v3, "PAGE", 5)
    monkeypatch.setattr(v3, "MAX_PAGE", 2)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    # the communities are read after the posts, the modlog and the uploads: the sweep
    # fails there, its position kept past the modlog
    lemmy.fail_next("/api/v3/community/list", status=400, error="couldnt_find_community")
    lemmy.clear_requests()


def test_a_failed_sweeps_report_says_what_the_listings_kept_from_it(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _failing_after_the_modlog(fake_lemmy, tiny, tmp_path, monkeypatch)
    assert main(["sweep", "--dry-run", "--report", "part.json"]) == 1
    out = capsys.readouterr().out
    assert "failed; done and recorded before" in out, out
    assert "report (incomplete): part.json" in out, out
    part = json.loads((tmp_path / "part.json").read_text())
    assert part["summary"]["complete"] is False
    warnings = part["summary"]["warnings"]
    gaps = [w for w in warnings if SAID in w]
    assert len(gaps) == 1 and MODLOG_CUT.search(gaps[0]), warnings
    assert "posts their authors deleted" in gaps[0]
    # the run's other warnings too, as a whole sweep's report has them
    assert any("the bot account's settings hide content" in w for w in warnings), warnings
    assert fake_lemmy.mutating_requests() == []


def test_a_sweep_resumed_after_the_modlog_still_says_how_far_it_reached(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _failing_after_the_modlog(lemmy, tiny, tmp_path, monkeypatch)
    assert main(["sweep", "--dry-run"]) == 1
    assert _modlog_reads(lemmy)
    capsys.readouterr()

    # resumed in a new process (a new client): the modlog is not read again, and the
    # sweep that ends the walk says how far the first part reached through it
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run", "--report", "rest.json"]) == 0
    said = _gaps(capsys.readouterr().out)
    assert _modlog_reads(lemmy) == []
    assert MODLOG_CUT.search(said), said
    assert said.count("post removals in the modlog") == 1
    assert "posts their authors deleted" in said
    rest = json.loads((tmp_path / "rest.json").read_text())
    assert [w for w in rest["summary"]["warnings"] if SAID in w] == [said.split(": ", 1)[1]]

    # forgotten with the position: the next sweep walks the modlog anew, no cut now
    monkeypatch.setattr(v3, "MAX_PAGE", 100)
    assert main(["sweep", "--dry-run"]) == 0
    said = _gaps(capsys.readouterr().out)
    assert _modlog_reads(lemmy)
    assert "post removals in the modlog" not in said
    assert "posts their authors deleted" in said
    assert lemmy.mutating_requests() == []


def test_a_live_sweep_ends_with_its_warnings_on_the_terminal(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    """Before: `modbot sweep` printed its summary and the not-reached line, and its
    warnings (a listing that could not be read, a paging loop, the account) went to the
    log alone, lines long scrolled away by the end of a long sweep, and to --report.
    `modbot sweep --store` listed them at its end; now the sweep through Lemmy's
    listings does too, the not-reached line still once."""
    lemmy = fake_lemmy
    lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name="ok")
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    lemmy.fail_next("/api/v3/modlog", status=400, error="couldnt_find_modlog")

    assert main(["sweep", "--all"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    warned = [line for line in lines if line.startswith("warning: ")]
    assert warned == [
        "warning: removed posts: the modlog could not be read (GET /api/v3/modlog: HTTP 400 "
        "couldnt_find_modlog); the posts moderators removed and their comments were not read"
    ], out
    # after the summary, with the not-reached line said once
    done = next(i for i, line in enumerate(lines) if " (live) done: " in line)
    assert lines.index(warned[0]) > done
    assert SAID not in warned[0]
    _gaps(out)
