"""Bidi control characters in what the instance's users wrote, in the HTML report.

A name or URL holding U+202E (right-to-left override) is shown reordered: an author
`abc\\u202egpj.exe` reads as `abcexe.jpg`, a link's text can read as another host. Before,
the report wrote them as they were; now each is shown as its escape, as in the messages
modbot sends (modbot.markdown.inert), and the link itself is kept whole."""

from __future__ import annotations

from test_report import decision

from modbot.modes.report_html import render_html

BIDI = ("\u202e", "\u2066", "\u200f", "\u061c")


def test_bidi_controls_are_shown_as_escapes():
    d = decision()
    d["item"]["author"] = "https://lemmy.example/u/abc\u202egpj.exe"
    d["item"]["community"] = "pics\u2066x\u2069@lemmy.example"
    d["image"]["url"] = "https://lemmy.example/pictrs/image/\u200fabc\u061c.jpg"
    page = render_html([d])
    assert not [c for c in BIDI if c in page]
    assert "abc\\u202egpj.exe" in page
    assert "pics\\u2066x\\u2069@lemmy.example" in page
    assert 'href="https://lemmy.example/pictrs/image/%E2%80%8Fabc%D8%9C.jpg"' in page


def test_a_link_with_a_bidi_control_still_goes_where_it_says():
    d = decision()
    d["item"]["url"] = "https://lemmy.example/post/12?\u202e=1"
    page = render_html([d])
    assert 'href="https://lemmy.example/post/12?%E2%80%AE=1"' in page
