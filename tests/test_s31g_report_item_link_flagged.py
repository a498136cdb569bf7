"""A flagged image's item link is marked as its image link is: the post, comment or
profile page it opens shows the image.

Before: a card of a flagged image marked its "image link" ("flagged image: do not
open unless you must"), while "post 12" beside it, which opens the post's page, where
Lemmy shows the image, was a plain link (a profile image's "avatar 7" and its owner's
link too, the person's page showing it): the page said only links to flagged images
are marked, so an admin could take the item's link for the safe one. Now the item's
link of a flagged image is marked, and its owner's link when it is that same page."""

from __future__ import annotations

import re

from modbot.modes.report_html import render_html
from modbot.modes.report_stream import ReportBuilder

IMG = "https://other.example/x.jpg"
WARNING = '<span class="warn">(its page shows the flagged image)</span>'


def record(kind: str, item_url: str, labels: list[str]) -> dict:
    return {
        "run_id": "r1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": True,
        "item": {
            "kind": kind,
            "id": 12,
            "url": item_url,
            "author": "https://lemmy.example/u/bob",
        },
        "image": {"url": IMG, "location": "post_url", "sha256": "a" * 64},
        "scores": {"csam": 0.02 if labels else -0.1},
        "labels": labels,
        "rule": "csam" if labels else None,
        "actions": [{"action": "report", "status": "planned", "detail": "x"}] if labels else [],
        "skipped": None,
    }


def link_classes(page: str, href: str) -> list[str]:
    """The class of each link to ``href`` ("" for none)."""
    return [
        m.group(1) or ""
        for m in re.finditer(r'<a(?: class="([^"]*)")? href="([^"]+)"', page)
        if m.group(2) == href
    ]


def pages(records: list[dict], tmp_path) -> list[str]:
    """The page as `modbot report` (ReportBuilder) and the demo (render_html) write it."""
    with ReportBuilder(tmp_path / "r.html") as builder:
        for r in records:
            builder.add(dict(r))
        builder.write()
    return [(tmp_path / "r.html").read_text(), render_html(records)]


def test_a_flagged_posts_link_is_marked_a_clean_ones_is_not(tmp_path):
    flagged = record("post", "https://lemmy.example/post/12", ["csam"])
    clean = record("post", "https://lemmy.example/post/13", [])
    for page in pages([flagged, clean], tmp_path):
        assert link_classes(page, "https://lemmy.example/post/12") == ["danger"]
        assert f"post 12</a> {WARNING}" in page
        assert link_classes(page, "https://lemmy.example/post/13") == [""]
        assert page.count(WARNING) == 1
        # the author's page is not the post's: left as it was
        assert link_classes(page, "https://lemmy.example/u/bob") == ["", ""]


def test_a_flagged_avatars_owner_page_is_marked_both_times(tmp_path):
    owner = "https://lemmy.example/u/bob"
    avatar = record("avatar", owner, ["csam"])
    for page in pages([avatar], tmp_path):
        assert link_classes(page, owner) == ["danger", "danger"]
        assert page.count(WARNING) == 1
