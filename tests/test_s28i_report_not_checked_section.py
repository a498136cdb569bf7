"""The HTML report's sections add up to its summary when a rule acts on an image it
could not check (`fetch_failed:`, `skipped:`).

Before: the summary said "2 could not be checked" and its "Not checked (by reason)" table
counted 2, while the section under it was "Images not checked (1)": the image a rule
acted on is a card among the decisions with a rule (with its "not checked" line), and
the title said nothing of that, so one read as lost. Now that section is "Images not
checked, no rule matched", beside "Checked, no rule matched"."""

from __future__ import annotations

import html
import re

from support.bot import Bot
from support.policies import DEFAULT_RULES, write_rules

RULES = (
    DEFAULT_RULES
    + """  - name: a private address from a local account
    if: {fetch_failed: private_address, author: {local: true}}
    then: {report: "an image at a private address"}
"""
)


def _text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_not_checked_images_add_up_with_those_a_rule_acted_on(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(cast.pics, cast.alice, name="a", url="http://10.1.2.3/a.jpg")
    lemmy.add_post(cast.pics, cast.bob, name="b", url="http://10.1.2.3/b.jpg")
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once", "--dry-run", "--report", "run.html")
    assert lemmy.mutating_requests() == []

    said = _text((tmp_path / "run.html").read_text())
    assert "1 matched a rule; 2 could not be checked" in said
    assert "Not checked (by reason) private_address 2" in said
    assert "Decisions with a rule (1) a private address from a local account" in said
    assert "Images not checked, no rule matched (1)" in said
    assert "Checked, no rule matched (0)" in said
