"""`modbot gate --help` says when to give --upload-timeout. Since c882010 a gate.budget
of 30 s or more is taken under a larger --upload-timeout (both of pict-rs' and Lemmy's
timeouts raised), but the option's help said to give it only "when you set either below
its default", and the description never said a budget could pass 30 s: an admin who
needed a longer budget read that it could not be had."""

from __future__ import annotations

import pytest

from modbot.cli import main


def test_the_help_says_a_larger_upload_timeout_allows_a_budget_past_30s(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as done:
        main(["gate", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    text = " ".join(out.split())
    option = " ".join(out.split("\n  --upload-timeout SECONDS\n", 1)[1].split("--new")[0].split())
    assert "below its default, or both above theirs for a gate.budget of 30s or more" in option
    assert "check-rules" in option  # which still holds it under 30 s
    assert "(raise both, and give it, for a budget of 30s or more)" in text  # the description
