"""What an admin reads in a report: each score with what it means (fires at > 0, yes or
no), one word per meaning ("not checked" for an image, "not taken" for an action),
words that do not break in narrow columns, and for each flagged decision what to do
if it is a false positive (the allow-list line, with the file's sha256). Through
`python -m modbot report`, on the record and with --rescan (the reports made again from
the same record run `modbot.cli.main` in the test's process: each `python -m modbot`
spends seconds importing torch)."""

from __future__ import annotations

import hashlib
import html
import json
import re

import pytest
from support.bot import Bot, remote_photo
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main


def visible_text(page: str) -> str:
    """The page as a reader sees it: no style, no tags, entities decoded."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
def test_scores_words_and_what_next_in_the_report(fake_lemmy, photos, tiny, tmp_path, monkeypatch):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    flagged = photos[tiny.flagged]
    first = remote_photo(lemmy, photos, tiny.flagged, "first.jpg")
    second = remote_photo(lemmy, photos, tiny.flagged, "second.jpg")
    post = lemmy.add_post(
        cast.pics,
        cast.bob,
        name='<script>alert("title")</script>',
        url=first,
        body=f"the same again ![again]({second})",
    )
    private = lemmy.add_post(cast.pics, cast.alice, name="p", url="http://10.1.2.3/secret.jpg")
    rules = write_rules(tmp_path, lemmy, tiny)
    bot = Bot(lemmy, tmp_path, rules)
    sha256 = hashlib.sha256(flagged).hexdigest()

    # The first report has no record to start from: it walks the window (--rescan's way);
    # the second is made from the record the first left.
    bot("report", "--since", "7d", "--out", "first.html")
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, bot.state, rules, pictrs=True)
    assert main(["report", "--since", "7d", "--out", "second.html"]) == 0
    assert main(["report", "--since", "7d", "--out", "second.json"]) == 0
    assert lemmy.mutating_requests() == []
    for name in ("first.html", "second.html"):
        page = (tmp_path / name).read_text()
        text = visible_text(page)
        assert "<img" not in page.lower() and "<script" not in page.lower()
        # each score says what it means
        assert re.search(r"probe \+0\.\d{4} \(fires at > 0: yes\)", text), name
        assert re.search(r"csam \u22120\.\d{4} \(fires at > 0: no\)", text), name
        # an action repeated for another image and an image not checked, in their words
        assert "repeat already decided for another image of this item" in text
        assert (
            "Images not checked, no rule matched (1)" in text and "Not checked (by reason)" in text
        )
        # "skipped" is no label of the report's own any more (messages may still say it)
        assert ">skipped<" not in page and "Skipped" not in text
        # no word is cut in a narrow column: only links and hashes may wrap anywhere
        assert "break-all" not in page
        # what next: the exact allow-list line, with the file's sha256
        innocent = tmp_path / "innocent.txt"
        assert (
            f"If this is a false positive: add the line {sha256} to {innocent} "
            "(allow-list 'innocent', kind sha256)." in text
        ), name

    doc = json.loads((tmp_path / "second.json").read_text())
    by_item = {d["item"]["id"]: d for d in doc["decisions"] if d["item"]["kind"] == "post"}
    assert by_item[post.id]["what_next"].endswith(
        f"{innocent} (allow-list 'innocent', kind sha256)."
    )
    assert by_item[private.id]["skipped"] and "what_next" not in by_item[private.id]

    # The line works: with the file on the allow-list, the report says it is exempt.
    innocent.write_text(f"{sha256}\n")
    assert main(["report", "--since", "7d", "--out", "allowed.json"]) == 0
    allowed = json.loads((tmp_path / "allowed.json").read_text())
    hit = next(d for d in allowed["decisions"] if d["item"]["id"] == post.id)
    assert hit["exempt"].startswith("the image is on the allow-list 'innocent'")
    assert hit["actions"] == []


def test_a_live_runs_report_says_how_to_undo_a_wrong_removal(fake_lemmy, photos, tiny, tmp_path):
    from support.policies import BAD

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="bad", url=remote_photo(lemmy, photos, BAD, "bad.jpg")
    )
    bad = hashlib.sha256(photos[BAD]).hexdigest()
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[bad])
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once", "--report", "live.json")
    doc = json.loads((tmp_path / "live.json").read_text())
    hit = next(d for d in doc["decisions"] if d["item"]["id"] == post.id)
    assert ("remove", "done") in [(a["action"], a["status"]) for a in hit["actions"]]
    advice = hit["what_next"]
    assert f"remove the line {bad} from {tmp_path / 'known-bad.txt'}" in advice
    assert f"add the line {bad} to {tmp_path / 'innocent.txt'}" in advice
    assert advice.endswith(f"undo what was done: modbot undo {hit['decision_id']} --yes.")

    # The command it gives does what it says.
    assert lemmy.post(post.id).removed
    bot("undo", str(hit["decision_id"]), "--yes")
    assert not lemmy.post(post.id).removed
