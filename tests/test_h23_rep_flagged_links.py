"""A report marks the link of every flagged image (the page says so: "Links to flagged
images are marked"): flagged as a verdict is, any label fired (a custom concept of the
admin's such as `gore`, or `anime`), whether or not a rule matched it."""

from __future__ import annotations

import re

import pytest

from modbot.modes.report_html import render_html
from modbot.modes.report_stream import ReportBuilder

IMG = "https://other.example/x.jpg"


def record(labels, scores):
    return {
        "run_id": "r1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": True,
        "item": {"kind": "post", "id": 12, "url": "https://lemmy.example/post/12"},
        "image": {"url": IMG, "location": "post_url", "sha256": "a" * 64},
        "scores": scores,
        "labels": labels,
        "rule": None,
        "actions": [],
        "skipped": None,
    }


def image_links(page: str) -> list[bool]:
    """For each link to IMG: whether the flagged-image warning precedes it."""
    return [
        bool(m.group(1))
        for m in re.finditer(
            r'(<span class="warn">[^<]*flagged image[^<]*</span> )?<a[^>]*href="([^"]+)"', page
        )
        if m.group(2) == IMG
    ]


@pytest.mark.parametrize("label", ["gore", "anime"])
def test_an_image_with_any_label_is_marked_flagged_without_a_rule(tmp_path, label):
    flagged = record([label], {label: 0.02, "nsfw": -0.1})
    assert image_links(render_html([flagged])) == [True]
    with ReportBuilder(tmp_path / "r.html") as builder:
        builder.add(dict(flagged))
        builder.write()
    assert image_links((tmp_path / "r.html").read_text()) == [True]


def test_an_image_with_no_label_is_not_marked():
    assert image_links(render_html([record([], {"gore": -0.02, "nsfw": -0.1})])) == [False]
