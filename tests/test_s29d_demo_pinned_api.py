"""`modbot demo --rules FILE` where the admin's rules pin `lemmy.api` for their own
instance (v4: a Lemmy 1.0), while the demo's fake instance is the version --lemmy says
(0.19 by default).

Before: the whole demo started, printed its banner, then ended with "modbot demo: login
as 'modbot' failed: POST /api/v4/account/auth/login: HTTP 404 Not Found" and no report.
Now the demo speaks to its own instance as that instance speaks, and runs."""

from __future__ import annotations

import json
import re

from modbot.cli import main
from modbot.starter import write_starter


def test_a_pinned_api_does_not_stop_the_demo(tmp_path, capsys):
    write_starter(tmp_path / "mine")
    rules = tmp_path / "mine" / "rules.yaml"
    text = re.sub(r"^  api: auto\b", "  api: v4", rules.read_text(), flags=re.M)
    assert "  api: v4" in text
    rules.write_text(text)
    out_dir = tmp_path / "out"
    argv = ["demo", "--test-model", "--rules", str(rules), "--out-dir", str(out_dir)]
    status = main(["--env-file", "/dev/null", *argv])
    captured = capsys.readouterr()
    assert status == 0, captured.out + captured.err
    assert "a fake Lemmy 0.19" in captured.out
    assert "requests that changed anything on the instance: 0 (dry run)" in captured.out
    doc = json.loads((out_dir / "modbot-demo-report.json").read_text())
    assert any(d["rule"] == "known abusive image" for d in doc["decisions"])
