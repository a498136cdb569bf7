"""An item's one report and one admin notice come from the first rule by priority, as
docs/rules.md says, also when a lower-priority removal rule asks for one too."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modbot.config.policy import load_policy
from modbot.rules import Subject

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def decide(tmp_path: Path, rules: str, **facts):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(rules).lstrip("\n"))
    subject = Subject(
        item_kind="post",
        found_in="post_url",
        item_local=True,
        community_name="pics@lemmy.test",
        community_nsfw=False,
        community_local=True,
        author_actor_id="https://lemmy.test/u/alice",
        author_local=True,
        author_published=NOW - timedelta(days=400),
        permalink="https://lemmy.test/post/7",
        **facts,
    )
    return load_policy(path).decide(subject, now=NOW)


def test_the_higher_priority_notice_is_the_one_sent(tmp_path: Path):
    plan = decide(
        tmp_path,
        """
        rules:
          - name: tell the admins
            priority: 100
            if: {labels: csam}
            then: {notify_admins: "urgent: {{permalink}}"}
          - name: remove csam
            if: {labels: csam}
            then: {remove: true, notify_admins: "removed {{permalink}}"}
        """,
        labels=("csam",),
    )
    assert [(a.kind, a.rule, a.reason) for a in plan.actions] == [
        ("remove", "remove csam", "Removed by modbot: remove csam"),
        ("notify_admins", "tell the admins", "urgent: https://lemmy.test/post/7"),
    ]
    outcomes = {m.rule: m.outcome for m in plan.matched}
    assert outcomes == {"remove csam": "acted", "tell the admins": "acted"}
    assert plan.rule == "remove csam"


def test_the_higher_priority_report_is_the_one_sent_when_the_item_stays_up(tmp_path: Path):
    plan = decide(
        tmp_path,
        """
        rules:
          - name: report nsfw
            priority: 100
            if: {labels: nsfw}
            then: {report: "for the moderators"}
          - name: ban nsfw posters
            if: {labels: nsfw}
            then: {ban: {duration: 1d}, report: "banned"}
        """,
        labels=("nsfw",),
    )
    assert [(a.kind, a.rule, a.reason) for a in plan.actions] == [
        ("ban", "ban nsfw posters", "ban nsfw posters"),
        ("report", "report nsfw", "for the moderators"),
    ]
    outcomes = {m.rule: m.outcome for m in plan.matched}
    assert outcomes == {"ban nsfw posters": "acted", "report nsfw": "acted"}


def test_a_removal_that_takes_the_item_down_keeps_its_own_report(tmp_path: Path):
    # The higher rule's report would go on a removed post: left out, the removal's stays.
    plan = decide(
        tmp_path,
        """
        rules:
          - name: report nsfw
            priority: 100
            if: {labels: nsfw}
            then: {report: "for the moderators"}
          - name: remove nsfw
            if: {labels: nsfw}
            then: {report: "removed, a record", remove: true}
        """,
        labels=("nsfw",),
    )
    assert [(a.kind, a.rule) for a in plan.actions] == [
        ("report", "remove nsfw"),
        ("remove", "remove nsfw"),
    ]
    outcomes = {m.rule: m.outcome for m in plan.matched}
    assert outcomes["report nsfw"] == "item already removed by 'remove nsfw'"


def test_a_rule_that_exempts_the_moderator_claims_no_notice(tmp_path: Path):
    plan = decide(
        tmp_path,
        """
        rules:
          - name: tell the admins
            priority: 100
            if: {labels: nsfw}
            then: {notify_admins: "first"}
          - name: about everyone
            moderators_exempt: false
            if: {labels: nsfw}
            then: {notify_admins: "second"}
        """,
        labels=("nsfw",),
        author_is_moderator=True,
    )
    assert [(a.kind, a.rule) for a in plan.actions] == [("notify_admins", "about everyone")]
