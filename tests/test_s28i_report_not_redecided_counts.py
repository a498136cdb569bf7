"""`modbot report`'s counts are of what it decided: a record it could not decide again
(another concept version, never classified) is counted under "not decided again" only,
its old verdict and decision kept under `recorded`.

Before: such a record kept its old labels, exemption and skip at the top, so the summary
counted them: "By label: probe 2", "Exempt (rule matched, no action): 1", "1 could not
be checked", beside "0 matched a rule", with no row of the page showing any of them (the
records are listed under "Recorded, not decided again" only); the exempt one's recorded
rule read as if it had acted. Now each record counts in one place, the rows add up to
the summary, and the recorded column says the recorded exemption."""

from __future__ import annotations

import html
import json
import re
import sqlite3

import pytest
from support.bot import Bot, remote_photo
from support.policies import write_rules


def _text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
def test_records_not_decided_again_count_only_there(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    exempt = lemmy.add_post(
        cast.pics, cast.mod, name="m", url=remote_photo(lemmy, photos, tiny.flagged, "m.jpg")
    )
    flagged = lemmy.add_post(
        cast.pics, cast.alice, name="a", url=remote_photo(lemmy, photos, tiny.flagged, "a.jpg")
    )
    failed = lemmy.add_post(
        cast.pics, cast.alice, name="c", url=remote_photo(lemmy, photos, "coffee", "c.jpg")
    )
    private = lemmy.add_post(cast.pics, cast.alice, name="p", url="http://10.1.2.3/secret.jpg")
    rules = write_rules(tmp_path, lemmy, tiny)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once", "--dry-run")
    # the classifier failed on one image (as a run records it: no verdict)
    with sqlite3.connect(bot.state) as db:
        db.execute(
            "UPDATE decisions SET record = json_set(record, '$.skipped', 'classifier_error', "
            "'$.skipped_detail', 'the worker answered 500', '$.scores', json('{}'), "
            "'$.labels', json('[]')) WHERE item_kind = 'post' AND item_id = ?",
            (failed.id,),
        )
    # another threshold: the recorded verdicts are of another concept version
    text = rules.read_text().replace(f"threshold: {tiny.threshold!r}", "threshold: 0.5")
    assert text != rules.read_text()
    rules.write_text(text)

    bot("report", "--since", "7d", "--out", "r.json")
    bot("report", "--since", "7d", "--out", "r.html")
    assert lemmy.mutating_requests() == []
    doc = json.loads((tmp_path / "r.json").read_text())
    summary = doc["summary"]
    by_id = {d["item"]["id"]: d for d in doc["decisions"]}
    assert summary["decisions"] == 4 and summary["not_redecided"] == 3
    assert sum(summary["by_not_redecided"].values()) == 3
    # only what the report decided is counted: the private address, not checked
    assert summary["by_label"] == {} and summary["by_exempt"] == {}
    assert summary["skipped"] == 1 and summary["by_skip_reason"] == {"private_address": 1}
    assert summary["with_rule"] == 0 and summary["by_rule"] == {}
    assert by_id[private.id]["skipped"] == "private_address"

    # what each record decided is kept under `recorded`
    assert by_id[exempt.id]["recorded"]["exempt"] == "the author moderates this community"
    assert by_id[exempt.id]["recorded"]["labels"] == ["probe"]
    assert by_id[flagged.id]["recorded"]["rule"] == "probe"
    assert by_id[flagged.id]["recorded"]["scores"]["probe"] > 0
    assert by_id[failed.id]["recorded"]["skipped"] == "classifier_error"
    for item_id in (exempt.id, flagged.id, failed.id):
        d = by_id[item_id]
        assert d["not_redecided"]
        assert (d["labels"], d["skipped"], d.get("exempt"), d["rule"]) == ([], None, None, None)

    page = (tmp_path / "r.html").read_text()
    said = _text(page)
    assert "4 images in 4 items" in said and "0 matched a rule; 1 could not be checked" in said
    # the sections' rows add up to the summary
    assert "Recorded, not decided again (3)" in said
    assert "Images not checked, no rule matched (1)" in said
    assert "Checked, no rule matched (0)" in said and "Decisions with a rule (0)" in said
    assert "No label fired." in said and "Exempt (rule matched" not in said
    assert "probe exempt: the author moderates this community" in said
    # the flagged ones still have their warning
    assert said.count("flagged image: do not open unless you must") == 2
