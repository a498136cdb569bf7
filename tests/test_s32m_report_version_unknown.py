"""`modbot report` (from the record) when the classifier's concept version cannot be
known (its workers out of reach): each recorded verdict is decided again as it was
recorded, whatever model or concepts made it. The report says so, not the log only."""

from __future__ import annotations

import json
import socket

import pytest
from support.bot import remote_photo
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main


@pytest.mark.slow
def test_a_report_whose_concept_version_is_unknown_says_so(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, "chelsea"))
    rules = write_rules(tmp_path, lemmy, tiny)
    state = tmp_path / "state.sqlite3"
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, state, rules)
    assert main(["run", "--dry-run", "--once"]) == 0

    # The classifier moves to a worker, out of reach when the report is made.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    rules.write_text(
        rules.read_text().replace(
            "classifier: {", f"classifier: {{remote: ['http://127.0.0.1:{port}'], ", 1
        )
    )
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", "t" * 32)
    capsys.readouterr()
    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    said = " ".join(doc["summary"]["warnings"])
    assert "concept version is unknown" in said, doc["summary"]["warnings"]
    assert "as recorded" in said
    assert main(["report", "--since", "1d", "--out", "r.html"]) == 0
    assert "concept version is unknown" in (tmp_path / "r.html").read_text()
