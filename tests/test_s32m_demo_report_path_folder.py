"""`modbot demo` where a folder has the name of one of its reports: said before the
demo runs, naming that folder, in the demo's own words (it has --out-dir, not --out),
not after the run, with the HTML written and the hidden temporary file named."""

from __future__ import annotations

import pytest

from modbot.modes.demo import DEMO_REPORT_HTML, DEMO_REPORT_JSON


@pytest.mark.parametrize("name", [DEMO_REPORT_HTML, DEMO_REPORT_JSON])
def test_a_folder_where_a_demo_report_goes_is_said_before_the_run(name, tmp_path, capsys):
    from modbot.cli import main

    (tmp_path / name).mkdir()
    assert main(["--env-file", "/dev/null", "demo", "--out-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"modbot demo: --out-dir {tmp_path}: {tmp_path / name} is a folder" in captured.err
    assert ".tmp" not in captured.err and "--report or --out" not in captured.err
    assert "modbot demo: a fake Lemmy" not in captured.out  # said before the demo started
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no report written
