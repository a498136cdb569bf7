"""The HTML report styles every action outcome it shows with a look of its own: `repeat`
(the same action as another decision, counted there), `already_done` (done before, not
sent again) and `covered` (purged with another alias of the file) each apart from
`done`, from `skipped` ("not taken") and from the plain grey every status starts with."""

from __future__ import annotations

import re

from modbot.modes.report_html import render_html

ACTIONS = [
    {"action": "remove", "status": "done", "detail": "removed"},
    {"action": "purge_image", "status": "covered", "detail": "purged with another alias"},
    {"action": "ban", "status": "skipped", "detail": "already done: banned by modbot"},
    {"action": "report", "status": "skipped", "detail": "already planned: report"},
    {"action": "notify_admins", "status": "skipped", "detail": "held by the safety valve"},
    {"action": "delete_image", "status": "not_possible", "detail": "not an upload"},
    {"action": "purge_item", "status": "failed", "detail": "HTTP 502"},
]


def decision(dry_run: bool, actions: list[dict]) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": dry_run,
        "item": {"kind": "post", "id": 12, "url": "https://lemmy.example/post/12"},
        "image": {"url": "https://lemmy.example/x.jpg", "location": "post_url", "sha256": "a" * 64},
        "scores": {"csam": 0.3},
        "labels": ["csam"],
        "rule": "known bad",
        "actions": actions,
        "skipped": None,
    }


def styles(page: str) -> dict[str, str]:
    """Each `.status.NAME` rule of the page's style sheet: its declarations."""
    (sheet,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    return {
        name: " ".join(body.split())
        for name, body in re.findall(r"^\.status\.(\w+) \{([^}]*)\}", sheet, re.M)
    }


def test_every_outcome_shown_has_a_style_of_its_own():
    page = render_html(
        [decision(False, ACTIONS), decision(True, [ACTIONS[0] | {"status": "planned"}])]
    )
    shown = set(re.findall(r'<span class="status (\w+)">', page))
    assert shown == {
        "done",
        "covered",
        "already_done",
        "repeat",
        "skipped",
        "not_possible",
        "failed",
        "planned",
    }
    rules = styles(page)
    assert not shown - set(rules), f"shown in the default grey: {sorted(shown - set(rules))}"
    looks = {name: rules[name] for name in shown}
    # repeat and already_done are told apart from each other and from done and skipped
    for name in ("repeat", "already_done", "covered"):
        others = [other for other in ("done", "skipped", "planned") if looks[other] == looks[name]]
        assert not others, f"{name} looks like {others}"
    assert looks["repeat"] != looks["already_done"]
