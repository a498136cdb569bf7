"""`modbot report` (from the record) decides a record made under an older concept
version on the verdict cached since under the current one: the report's record then
says that verdict's concept version and model, not the old ones beside the new scores."""

from __future__ import annotations

import json

import pytest
from support.bot import remote_photo
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.store import Store


@pytest.mark.slow
def test_a_record_decided_on_a_newer_cached_verdict_says_that_verdicts_version(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first = lemmy.add_post(
        cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, tiny.flagged, "a.jpg")
    )
    rules = write_rules(tmp_path, lemmy, tiny)
    state = tmp_path / "state.sqlite3"
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, state, rules)
    assert main(["run", "--dry-run", "--once"]) == 0

    # Another threshold for the custom concept: another concept version. The same
    # file, posted again, is classified under it (and cached).
    text = rules.read_text().replace(f"threshold: {tiny.threshold!r}", "threshold: 0.5")
    assert text != rules.read_text()
    rules.write_text(text)
    second = lemmy.add_post(
        cast.pics, cast.alice, name="b", url=remote_photo(lemmy, photos, tiny.flagged, "b.jpg")
    )
    assert main(["run", "--dry-run", "--once"]) == 0
    store = Store(state)
    by_post = {r["item"]["id"]: r for r in store.decisions() if r["item"]["kind"] == "post"}
    store.close()
    old, new = by_post[first.id], by_post[second.id]
    assert old["concept_version"] != new["concept_version"]

    assert main(["report", "--since", "1d", "--out", "r.json"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "r.json").read_text())
    hit = next(d for d in doc["decisions"] if d["item"]["id"] == first.id)
    assert hit.get("not_redecided") is None
    assert hit["scores"] == new["scores"]  # the cached verdict's
    assert hit["concept_version"] == new["concept_version"], hit["concept_version"]
    assert hit["model"] == new["model"]
