"""A name in Lemmy's answer that is not valid Unicode (a lone surrogate, which JSON can
escape: ``"pi\\ud800cs"``) reaches the decision records as it is. The reports are UTF-8
files: such a name must still give a report (the character shown as its escape), never
a UnicodeEncodeError that kills `modbot run --once --report`, the daemon's report or
`modbot report`."""

from __future__ import annotations

import html
import json

from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.modes.report_stream import ReportBuilder


def _hostile(lemmy):
    """Post listings name the community `pi\\ud800cs` and the author `...\\udcff`."""

    def change(body):
        for view in body.get("posts") or []:
            view["community"]["name"] = "pi\ud800cs"
            view["creator"]["actor_id"] = view["creator"]["actor_id"] + "/x\udcff"
        return body

    lemmy.tamper("/api/v3/post/list", change)


def _env(lemmy, tmp_path, monkeypatch, rules):
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)


def _check(tmp_path, name):
    raw = (tmp_path / name).read_bytes()
    text = raw.decode("utf-8")  # strict: the file is UTF-8
    if name.endswith(".json"):
        doc = json.loads(text)
        communities = [d["item"].get("community") for d in doc["decisions"]]
        assert any(c and c.startswith("pi\ud800cs@") for c in communities), communities
    else:
        assert "pi\\ud800cs@" in html.unescape(text), name
        assert "x\\udcff" in html.unescape(text), name


def test_a_lone_surrogate_from_lemmy_still_gives_every_report(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.bob, name="t", url="https://evil.example/a.jpg")
    _hostile(lemmy)
    rules = write_rules(tmp_path, lemmy, tiny)
    _env(lemmy, tmp_path, monkeypatch, rules)

    assert main(["run", "--once", "--dry-run", "--report", "run.html"]) == 0
    lemmy.add_post(cast.pics, cast.bob, name="u", url="https://evil.example/b.jpg")
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    out = capsys.readouterr().out
    assert "report: run.html" in out and "report: run.json" in out
    for name in ("run.html", "run.json"):
        _check(tmp_path, name)

    # from the record, as `modbot report` makes it
    assert main(["report", "--since", "7d", "--out", "rep.html"]) == 0
    assert main(["report", "--since", "7d", "--out", "rep.json"]) == 0
    for name in ("rep.html", "rep.json"):
        _check(tmp_path, name)
    assert lemmy.mutating_requests() == []


def test_the_builder_writes_a_surrogate_in_a_warning_and_a_skip_reason(tmp_path):
    record = {
        "run_id": "r",
        "dry_run": True,
        "item": {"kind": "post", "id": 1, "url": "https://lemmy.example/post/1"},
        "image": {"url": "https://x.example/a.jpg", "location": "post_url", "sha256": None},
        "skipped": "bad_url",
        "skipped_detail": "invalid URL: '\ud83d'",
        "actions": [],
    }
    for name in ("r.json", "r.html"):
        with ReportBuilder(tmp_path / name) as builder:
            builder.add(dict(record))
            builder.write({"warnings": ["a warning \udc80"]})
        text = (tmp_path / name).read_bytes().decode("utf-8")
        if name.endswith(".json"):
            doc = json.loads(text)
            assert doc["decisions"][0]["skipped_detail"] == "invalid URL: '\ud83d'"
            assert doc["summary"]["warnings"] == ["a warning \udc80"]
        else:
            assert "invalid URL: &#x27;\\ud83d&#x27;" in text
            assert "a warning \\udc80" in text
