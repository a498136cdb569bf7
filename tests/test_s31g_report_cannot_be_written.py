"""A report that cannot be written where the admin asked is said in one line, and
`modbot report` says it before it starts.

Before: `modbot report --out afile/r.html` (``afile`` a file, or a folder not writable, a
folder where the file should be) walked and decided the whole window (with --rescan, as
long as a sweep), then ended with a Python traceback (``FileExistsError``) and no
report; `modbot run --once --report` the same after its cycle. Now `modbot report` and
`modbot run` check the file can be written before they log in, and a report that fails
at its write ends the command with "cannot write the report ...: why" and exit 1."""

from __future__ import annotations

import pytest
from support.bot import Bot, remote_photo
from support.policies import BAD, write_rules


@pytest.mark.slow
def test_a_report_that_cannot_be_written_is_said_not_a_traceback(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy = fake_lemmy
    lemmy.add_post(
        lemmy.cast.pics,
        lemmy.cast.bob,
        name="bad",
        url=remote_photo(lemmy, photos, BAD, "bad.jpg"),
    )
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "taken.html").mkdir()

    # a run's --report is checked before its cycle, as a sweep's is
    # (test_s31q_sweep_report_path_first): before, the cycle ran, then its report failed
    before = len(lemmy.requests)
    done = bot("run", "--once", "--dry-run", "--report", "afile/r.html", rc=1)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert (
        "modbot run: cannot write the report afile/r.html: afile is a file, not a folder"
    ) in done.stderr
    assert lemmy.requests[before:] == [], "said before the login"
    assert not (tmp_path / "state.sqlite3").exists(), "no cycle ran"

    for out, why in (
        ("afile/r.html", "afile is a file, not a folder"),
        ("taken.html", "a folder is there"),
    ):
        for rescan in ([], ["--rescan"]):
            before = len(lemmy.requests)
            done = bot("report", "--since", "7d", *rescan, "--out", out, rc=1)
            assert "Traceback" not in done.stderr, done.stderr[-3000:]
            assert f"modbot report: cannot write the report {out}: {why}" in done.stderr
            # said before the login: nothing walked, nothing loaded
            assert lemmy.requests[before:] == []
            assert "random weights" not in done.stderr
    assert (tmp_path / "afile").read_text() == "not a folder"
    assert list((tmp_path / "taken.html").iterdir()) == []
