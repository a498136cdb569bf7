"""Values from content made inert in the Markdown modbot sends to Lemmy.

Reasons (removal, report, ban) and private messages are Markdown: lemmy-ui renders
them with markdown-it, `linkify` on (a bare URL becomes a link, `name@host` a mailto
link). An image URL, a user or community name or a decoder's message comes from the
content, so from whoever posted it: written as it is, `![x](https://tracker/p.png)`
would put a tracking pixel in the admins' inbox and `[click](https://...)` a live link.
`inert(value)` writes such a value as a code span, which markdown-it shows as literal
text: nothing inside it becomes an image, a link, emphasis, an emoji or HTML.

A code span ends at the next run of exactly as many backticks as opened it, so the
fence is one backtick longer than the longest run in the value, with a space inside
when the value starts or ends with a backtick (markdown-it strips one space on each
side). A line break would end the paragraph (and the code span with it), and control
and format characters (bidi overrides, zero-width) could disguise a value, so these are
written as escapes (`\\n`, `\\u202e`). Very long values are cut (the audit keeps them whole).
"""

from __future__ import annotations

import re
import unicodedata

from modbot.config.words import cut

__all__ = ["MAX_VALUE", "inert", "lemmy_length"]

MAX_VALUE = 300  # characters of one value in a message or reason
_RUNS = re.compile(r"`+")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
        code = ord(char)
        return (
            f"\\x{code:02x}"
            if code < 0x100
            else f"\\u{code:04x}"
            if code < 0x10000
            else f"\\U{code:08x}"
        )
    return char


def lemmy_length(text: str) -> int:
    """A text's length as Lemmy measures it for its limits: 1.0 counts UTF-16 code units
    (as a browser's `maxlength` does), 0.19 characters, never more than that."""
    return len(text.encode("utf-16-le")) // 2


def inert(value: object) -> str:
    """`value` as a Markdown code span that renders as its literal text."""
    text = "".join(_visible(c) for c in str(value))
    if not text:
        return "(empty)"
    text = cut(text, MAX_VALUE)
    fence = "`" * (max((len(run) for run in _RUNS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"
