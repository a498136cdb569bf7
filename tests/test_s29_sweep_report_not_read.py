"""A sweep's report says which posts' comments it could not read, as its summary does.
Before, "comments of N posts not read" was on the terminal only: the report's warnings
(what an admin reads later, or shares) had at most the first few per-post log lines."""

from __future__ import annotations

import json

from test_s29k_comments_not_read_resumed import NOT_READ, _bot

from modbot.cli import main


def test_the_report_names_the_posts_whose_comments_were_not_read(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    posts = _bot(fake_lemmy, tiny, tmp_path, monkeypatch)
    fake_lemmy.fail_next("/api/v3/comment/list", times=2, status=400, error="unknown")
    assert main(["sweep", "--dry-run", "--report", "report.json"]) == 0
    capsys.readouterr()
    warnings = json.loads((tmp_path / "report.json").read_text())["summary"]["warnings"]
    said = [NOT_READ.search(w) for w in warnings]
    (found,) = [m for m in said if m]
    assert found.group(1) == "2", warnings
    assert {int(p) for p in found.group(2).replace(" ", "").split(",")} == set(posts)
