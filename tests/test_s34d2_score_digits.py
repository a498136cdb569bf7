"""A score is a margin: a similarity rounded to 4 decimals minus a threshold of 4
decimals (0.2175, 0.219), > 0 exactly when the label fired. The HTML report and a
message's `{{scores.NAME}}` printed it to 3 decimals: a label that fired by 0.0001 read
"+0.000" and a near miss "-0.000", so the admin reading why modbot removed a post saw
a score of zero. Both print 4 decimals, as `modbot classify` does."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from modbot.config.policy import load_policy
from modbot.modes.report_html import render_html
from modbot.rules import Subject


def decision(scores: dict[str, float], labels: list[str]) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-12-05T10:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": 12, "url": "https://lemmy.example/post/12"},
        "image": {"url": "https://lemmy.example/x.jpg", "location": "post_url", "sha256": "a" * 64},
        "scores": scores,
        "labels": labels,
        "rule": "classifier flags CSAM",
        "actions": [{"action": "remove", "status": "done", "detail": "removed"}],
        "skipped": None,
    }


def test_report_shows_a_label_that_fired_by_one_step_above_zero():
    page = render_html([decision({"csam": 0.0001, "nsfw": -0.0001, "anime": -0.25}, ["csam"])])
    text = re.sub(r"<[^>]+>", "", page)
    assert "csam +0.0001 (fires at &gt; 0: yes)" in text
    assert "nsfw \u22120.0001 (fires at &gt; 0: no)" in text
    assert "anime \u22120.2500" in text
    assert "+0.000 " not in text and "\u22120.000 " not in text


def test_message_placeholder_shows_four_decimals(tmp_path: Path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        textwrap.dedent(
            """
            rules:
              - name: classifier flags CSAM
                if: {labels: [csam]}
                then:
                  remove: "suspected abusive image"
                  notify_admins: "csam {{scores.csam}}, nsfw {{scores.nsfw}}"
            """
        ).lstrip("\n")
    )
    subject = Subject(
        item_kind="post",
        found_in="post_url",
        labels=("csam",),
        scores={"csam": 0.0001, "nsfw": -0.0001},
        community_name="pics@lemmy.example",
        author_actor_id="https://lemmy.example/u/someone",
        author_local=True,
        sha256="ab" * 32,
    )
    plan = load_policy(rules).decide(subject)
    (notice,) = [a for a in plan.actions if a.kind == "notify_admins"]
    assert notice.reason == "csam +0.0001, nsfw -0.0001"
