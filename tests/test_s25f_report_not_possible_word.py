"""The HTML report words the `not_possible` outcome "not possible", as it words every
other status ("not taken", "already done"): before, the raw word with its underscore
showed in the decision's card and as the actions table's column header. The style
class keeps the status's own name."""

from __future__ import annotations

import re

from test_s25b_report_outcome_styles import ACTIONS, decision

from modbot.modes.report_html import render_html


def shown_text(page: str) -> str:
    """What a reader sees: the page without its style sheet and its tags."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_not_possible_is_worded_in_the_card_and_the_actions_table():
    page = render_html([decision(False, ACTIONS)])
    assert '<span class="status not_possible">not possible</span> not an upload' in page
    header = re.search(r"<thead><tr><th>action</th>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th class=num>([^<]*)</th>", header) == [
        "already done",
        "covered",
        "done",
        "failed",
        "not possible",
        "repeat",
        "not taken",
    ]
    assert "not_possible" not in shown_text(page)
