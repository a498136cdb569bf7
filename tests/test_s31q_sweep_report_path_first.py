"""`modbot sweep --report FILE` and `modbot sweep --store --report FILE` with a FILE that
cannot be written: its folder a file (``afile/r.html``), or a folder where the file
should go. Before, the sweep logged in, walked and classified the whole backlog (or
the whole store: hours on a real instance), then ended with "cannot write the report"
and no report. Now the path is checked first, as `modbot report --out` does: exit 1
with the one line saying why, and not one request to Lemmy or pict-rs."""

from __future__ import annotations

import pytest
from support.bot import Bot
from support.policies import write_rules


@pytest.mark.parametrize("store", [[], ["--store"]], ids=["listings", "store"])
def test_a_report_that_cannot_be_written_stops_the_sweep_before_it_starts(
    fake_lemmy, tiny, tmp_path, store
):
    lemmy = fake_lemmy
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "taken.html").mkdir()
    for out, why in (
        ("afile/r.html", "afile is a file, not a folder"),
        ("taken.html", "a folder is there"),
    ):
        before = len(lemmy.requests)
        done = bot("sweep", *store, "--dry-run", "--report", out, rc=1)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert f"modbot sweep: cannot write the report {out}: {why}" in done.stderr
        # before: the login, the whole walk, then the failure
        assert [(r.server, r.path) for r in lemmy.requests[before:]] == []
        assert "random weights" not in done.stderr, "said before the model loads"
        assert not (tmp_path / "state.sqlite3").exists(), "no sweep started, nothing recorded"
    assert (tmp_path / "afile").read_text() == "not a folder"
    assert list((tmp_path / "taken.html").iterdir()) == []
