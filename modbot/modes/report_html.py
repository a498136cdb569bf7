"""The report as one self-contained HTML page: banners (dry run, test model), the counts
by rule and action, then each decision, most serious first. No image, no script (CSP
``default-src 'none'``), and everything taken from the instance escaped: titles, URLs
and community names are written by the people the bot moderates."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import quote, urlsplit

from modbot.actions.kinds import DESTRUCTIVE
from modbot.model import ALREADY_DONE, action_outcome
from modbot.modes.report import build_summary

__all__ = ["render_html"]

TEST_MODEL_WARNING = (
    "These scores come from a tiny model with random weights. Install real weights "
    "(ViT-L-14/openai) before trusting any verdict."
)
DRY_RUN_NOTE = "Nothing was changed on the instance; the actions are what the bot would do."


# Shown as their escapes (\\ud800): a lone surrogate (Lemmy's JSON may escape one) cannot
# be written as UTF-8; a bidi control (U+202E...) in a name or URL would reorder what the
# admin reads (`abc\\u202egpj.exe` shown as `abcexe.jpg`), as in modbot.markdown.inert
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_SHOWN_ESCAPED = re.compile(f"[\ud800-\udfff{_BIDI}]")
_BIDI_IN_URL = re.compile(f"[{_BIDI}]")


def _e(value: Any) -> str:
    text = "" if value is None else str(value)
    text = _SHOWN_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return html.escape(text, quote=True)


def _safe_href(url: Any) -> str | None:
    """Only plain http(s) links become clickable; `javascript:` and friends stay text."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # a link goes where it says: a bidi control in it percent-encoded, as a browser sends it
    return _BIDI_IN_URL.sub(lambda m: quote(m.group()), url.strip())


def _link(url: Any, text: Any, *, css: str = "") -> str:
    href = _safe_href(url)
    if href is None:
        return f'<span class="nolink {css}">{_e(text)}</span>'
    cls = f' class="{css}"' if css else ""
    return (
        f'<a{cls} href="{_e(href)}" rel="noreferrer noopener nofollow" '
        f'target="_blank">{_e(text)}</a>'
    )


def _is_flagged(d: Mapping[str, Any]) -> bool:
    """Flagged as a verdict is (``Verdict.flagged``): any label fired (a custom concept of
    the admin's too), or a hash list, or a rule matched."""
    # a record not decided again keeps its verdict and what its rule did under `recorded`
    recorded = d.get("recorded") or {}
    return any(bool(d.get(key)) for key in ("hash_match", "labels", "rule")) or any(
        bool(recorded.get(key)) for key in ("hash_match", "labels", "rule", "actions")
    )


def _image_link(d: Mapping[str, Any]) -> str:
    image = d.get("image") or {}
    url = image.get("url")
    if not url:
        return '<span class="muted">no URL</span>'
    if _is_flagged(d):
        return (
            '<span class="warn">&#9888; flagged image: do not open unless you must</span> '
            + _link(url, "image link", css="danger")
        )
    return _link(url, "image link")


def _counts_table(title: str, counts: Mapping[str, Any], empty: str) -> str:
    if not counts:
        return (
            f'<section class="card"><h3>{_e(title)}</h3><p class="muted">{_e(empty)}</p></section>'
        )
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td class=num>{_e(v)}</td></tr>" for k, v in counts.items()
    )
    return (
        f'<section class="card"><h3>{_e(title)}</h3><table><tbody>{rows}</tbody></table></section>'
    )


def _actions_table(by_action: Mapping[str, Mapping[str, int]]) -> str:
    if not by_action:
        return (
            '<section class="card"><h3>Actions</h3>'
            '<p class="muted">No rule asked for an action.</p></section>'
        )
    statuses = sorted({s for c in by_action.values() for s in c})
    head = "".join(f"<th class=num>{_e(status_word(s))}</th>" for s in statuses)
    rows = "".join(
        f"<tr><td>{_e(name)}</td>"
        + "".join(f"<td class=num>{_e(c.get(s, 0))}</td>" for s in statuses)
        + "</tr>"
        for name, c in by_action.items()
    )
    return (
        '<section class="card"><h3>Actions</h3>'
        f"<table><thead><tr><th>action</th>{head}</tr></thead><tbody>{rows}</tbody></table>"
        "</section>"
    )


def _scores(d: Mapping[str, Any]) -> str:
    """Each score with what it means: a margin, the label fired exactly when it is > 0."""
    scores = d.get("scores") or {}
    if not scores:
        return '<span class="muted">no scores</span>'
    cells = []
    for name, value in sorted(scores.items(), key=lambda kv: -_num(kv[1])):
        fired = _num(value) > 0  # a margin: > 0 exactly when the label fired
        cls = "score fired" if fired else "score"
        cells.append(
            f'<span class="{cls}">{_e(name)} {_fmt(value)} '
            f"(fires at &gt; 0: {'yes' if fired else 'no'})</span>"
        )
    return " ".join(cells)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("-inf")


def _fmt(value: Any) -> str:
    # 4 decimals, as the margin has (a 4-decimal similarity minus a 4-decimal threshold):
    # with 3, a label that fired by 0.0001 read +0.000, a near miss -0.000
    try:
        return _e(f"{float(value):+.4f}".replace("-", "\u2212"))
    except (TypeError, ValueError):
        return _e(value)


def _item_cell(d: Mapping[str, Any]) -> str:
    item = d.get("item") or {}
    label = f"{item.get('kind', 'item')} {item.get('id', '?')}"
    image = d.get("image") or {}
    image_urls = {image.get(k) for k in ("url", "checked_url", "original_url")} - {None}
    # an upload, a stored file, a profile image without an actor: the item's link is its
    # image, linked once in the image cell, with the warning when flagged
    own = item.get("url") in image_urls
    # a flagged image's item page (a post, a comment, a profile) shows the image: its
    # link is marked as the image's is, not left to look safe beside it
    shows = _is_flagged(d) and _safe_href(item.get("url")) is not None
    css = "danger" if shows else ""
    parts = [_e(label) if own else _link(item.get("url"), label, css=css)]
    if shows and not own:
        parts.append(_SHOWS_IT)
    if item.get("community"):
        nsfw = " (NSFW)" if item.get("community_nsfw") else ""
        parts.append(f'<span class="muted">in</span> {_e(item["community"])}{_e(nsfw)}')
    if item.get("author"):
        # a profile image's item is its owner's page: the author's link is that page too
        same = shows and item["author"] == item.get("url")
        author = _link(item["author"], item["author"], css="danger" if same else "")
        parts.append(f'<span class="muted">by</span> {author}')
    return " ".join(parts)


_SHOWS_IT = '<span class="warn">(its page shows the flagged image)</span>'


def _decision_card(d: Mapping[str, Any]) -> str:
    image = d.get("image") or {}
    actions = d.get("actions") or []
    action_rows = (
        "".join(
            f"<li><b>{_e(a.get('action'))}</b> {_outcome(a)}"
            + (f' <span class="muted">at {_e(a["done_at"])}</span>' if a.get("done_at") else "")
            + "</li>"
            for a in actions
        )
        or '<li class="muted">no action</li>'
    )
    labels = " ".join(f'<span class="label">{_e(x)}</span>' for x in d.get("labels") or [])
    hash_match = d.get("hash_match")
    rows = [
        ("item", _item_cell(d)),
        ("image", f"{_e(image.get('location'))} &middot; {_image_link(d)}"),
        ("sha256", f"<code>{_e(image.get('sha256') or '-')}</code>"),
        ("labels", labels or '<span class="muted">none</span>'),
        ("scores", _scores(d)),
    ]
    if d.get("exempt"):
        rows.append(("exempt", f'<span class="warn">no action: {_e(d["exempt"])}</span>'))
    if hash_match:
        rows.append(("hash list", _e(_hash_lists(hash_match))))
    not_taken = image.get("hashes_not_taken")
    if isinstance(not_taken, Mapping) and not_taken:
        # no list of such a kind could match it: said, not left to an absent hash
        said = "; ".join(f"{kind}: {why}" for kind, why in not_taken.items())
        rows.append(("hashes not taken", f'<span class="warn">{_e(said)}</span>'))
    if image.get("ended_early"):
        rows.append(("download", _e(image["ended_early"])))
    if d.get("unreadable"):
        rows.append(("unreadable", f'<span class="warn">{_e(d["unreadable"])}</span>'))
    if d.get("skipped"):
        rows.append(("not checked", f'<span class="warn">{_e(_skip_text(d))}</span>'))
    if d.get("not_redecided"):
        rows.append(("not decided again", f'<span class="warn">{_e(d["not_redecided"])}</span>'))
    if d.get("redecided_from"):
        origin = d["redecided_from"]
        rows.append(
            (
                "recorded",
                f"decision {_e(origin.get('decision'))} of run {_e(origin.get('run_id'))} "
                f"({'dry run' if origin.get('dry_run') else 'live'})",
            )
        )
    if d.get("what_next"):
        rows.append(("what next", f'<span class="next">{_e(d["what_next"])}</span>'))
    rows.append(("model", f"{_e(d.get('model'))} &middot; decided {_e(d.get('decided_at'))}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    rule = d.get("rule")
    title = _e(rule) if rule else '<span class="muted">no rule matched</span>'
    if d.get("exempt"):
        title += ' <span class="muted">(exempt)</span>'
    return (
        f'<article class="decision"><h3>{title}</h3><table class="kv">{body}</table>'
        f'<ul class="actions">{action_rows}</ul></article>'
    )


def _hash_lists(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{name} ({how})" for name, how in value.items())
    return str(value)


def _skip_text(d: Mapping[str, Any]) -> str:
    detail = d.get("skipped_detail")
    return f"{d['skipped']}: {detail}" if detail else str(d["skipped"])


def status_word(status: Any) -> str:
    """An action's status as the report words it: "skipped" is said "not taken" (the
    word "skipped" is kept for images: "not checked"), an action done before
    (``action_outcome``) "already done", never "not taken", and no status with its
    underscore ("not possible")."""
    return _STATUS_WORDS.get(str(status), str(status))


_STATUS_WORDS = {
    "skipped": "not taken",
    ALREADY_DONE: "already done",
    "not_possible": "not possible",
}


def _compact_row(d: Mapping[str, Any]) -> str:
    image = d.get("image") or {}
    sha = image.get("sha256") or ""
    if d.get("not_redecided"):
        reason = str(d["not_redecided"])
    elif d.get("skipped"):
        reason = _skip_text(d)
    else:
        reason = ", ".join(d.get("labels") or [])
    last = _e(reason)
    if section_of(d) == "rest":  # a checked image: its scores too, as a card says them
        last = f"{last} {_scores(d)}" if last else _scores(d)
    recorded = f"<td>{_recorded(d)}</td>" if d.get("not_redecided") else ""
    return (
        f"<tr><td>{_item_cell(d)}</td><td>{_e(image.get('location'))}</td>"
        f"<td>{_image_link(d)}</td><td><code>{_e(sha[:16])}</code></td>"
        f"<td>{last}</td>{recorded}</tr>"
    )


def _recorded(d: Mapping[str, Any]) -> str:
    """What the recorded decision of a record not decided again did: its rule and its
    actions with their outcome (a ban done under the old model is still done)."""
    recorded = d.get("recorded") or {}
    actions = recorded.get("actions") or []
    if not recorded.get("rule") and not actions:
        return '<span class="muted">no rule matched</span>'
    parts = [_e(recorded.get("rule") or "no rule")]
    if recorded.get("exempt"):
        parts.append(f'<span class="muted">exempt: {_e(recorded["exempt"])}</span>')
    parts += [f"{_e(a.get('action'))} {_outcome(a)}" for a in actions]
    return "<br>".join(parts)


def _outcome(action: Mapping[str, Any]) -> str:
    """An action's outcome (``action_outcome``), worded, and its detail."""
    outcome = action_outcome(action)
    return (
        f'<span class="status {_e(outcome)}">{_e(status_word(outcome))}</span> '
        f"{_e(action.get('detail'))}"
    )


# The page is made of sections, each a header, rows, and a footer: a report streamed
# from the store writes each section's rows to a file of its own, then joins them.
SECTIONS = ("acted", "gate", "not_redecided", "skipped", "rest")
_TITLES = {
    "acted": "Decisions with a rule",
    "gate": "At the upload gate: files accepted, refused, or decided without a verdict",
    "not_redecided": "Recorded, not decided again",
    # a rule may act on an image not checked: its card is among those with a rule (the
    # summary's "could not be checked" counts both)
    "skipped": "Images not checked, no rule matched",
    "rest": "Checked, no rule matched",
}
_LAST_COLUMN = {"not_redecided": "why", "skipped": "reason", "rest": "labels, scores"}


def section_of(d: Mapping[str, Any]) -> str:
    if d.get("not_redecided"):
        return "not_redecided"
    if d.get("rule") or d.get("actions"):
        return "acted"
    if d.get("skipped"):
        return "skipped"
    return "rest"


def severity(d: Mapping[str, Any]) -> int:
    """0 is the most serious: destructive actions, then hash matches, then CSAM."""
    names = {str(a.get("action")) for a in d.get("actions") or []}
    return (
        (0 if names & set(DESTRUCTIVE) else 4)
        + (0 if d.get("hash_match") else 2)
        + (0 if "csam" in (d.get("labels") or []) else 1)
    )


def row_html(d: Mapping[str, Any]) -> str:
    """One decision as its section shows it: a card with a rule, else a table row."""
    return _decision_card(d) if section_of(d) == "acted" else _compact_row(d)


def section_head(section: str, count: int) -> str:
    head = f"<h2>{_e(_TITLES[section])} ({count})</h2>"
    if count == 0:
        return head + '<p class="muted">None.</p>'
    if section == "acted":
        return head
    if section == "gate":
        return (
            head + '<table class="compact"><thead><tr><th>when</th><th>answer</th>'
            "<th>size, type</th><th>sha256</th><th>why</th></tr></thead><tbody>"
        )
    last = _LAST_COLUMN[section]
    recorded = "<th>recorded: rule, actions</th>" if section == "not_redecided" else ""
    return (
        head + '<table class="compact"><thead><tr><th>item</th><th>found in</th><th>image</th>'
        f"<th>sha256</th><th>{_e(last)}</th>{recorded}</tr></thead><tbody>"
    )


def gate_row_html(d: Mapping[str, Any]) -> str:
    """One record of the upload gate: the file had no address yet (pict-rs asks before
    it stores it), so there is nothing to link to; its hash, what pict-rs was told and why."""
    gate = d.get("gate") or {}
    image = d.get("image") or {}
    sha = image.get("sha256") or ""
    outcome = str(gate.get("outcome") or "").replace("_", " ")
    size, read = gate.get("size"), gate.get("size_read")
    if size is not None:
        said = f"{size} bytes"
    elif read is not None:  # a body pict-rs streamed with no length, not read to its end
        said = f"over {read} bytes (read when the gate stopped)"
    else:
        said = None
    what = ", ".join(str(v) for v in (said, gate.get("media_type")) if v)
    # a file accepted has no action and was not skipped: why it passed is the gate's why
    why = ([f"rule: {d['rule']}"] if d.get("rule") else []) + [
        str(
            (d.get("actions") or [{}])[0].get("detail") or d.get("skipped") or gate.get("why") or ""
        )
    ]
    labels = ", ".join(d.get("labels") or [])
    if labels:
        why.append(f"labels: {labels}")
    not_taken = image.get("hashes_not_taken")
    if isinstance(not_taken, Mapping) and not_taken:
        why.append("hashes not taken: " + "; ".join(f"{k}: {v}" for k, v in not_taken.items()))
    answered = f"{outcome} ({gate.get('status')})"
    if gate.get("would_answer") is not None:  # a dry-run gate: stored, whatever it decided
        answered = (
            f"dry run: stored ({gate.get('status')}), would have answered {gate['would_answer']}"
        )
    return (
        f"<tr><td>{_e(d.get('decided_at'))}</td><td>{_e(answered)}</td>"
        f"<td>{_e(what)}</td><td><code>{_e(sha[:16])}</code></td>"
        f"<td>{_e('; '.join(w for w in why if w))}</td></tr>"
    )


def section_tail(section: str, count: int) -> str:
    return "</tbody></table>" if count and section != "acted" else ""


def page_parts(summary: Mapping[str, Any], title: str) -> tuple[str, str]:
    """The page before and after its sections: banners, facts and the counts."""
    banners = []
    if summary["random_weights"]:
        banners.append(
            '<div class="banner danger"><b>TEST MODEL: scores are meaningless.</b> '
            f"{_e(TEST_MODEL_WARNING)}</div>"
        )
    if summary["dry_run"]:
        banners.append(f'<div class="banner dry"><b>DRY RUN.</b> {_e(DRY_RUN_NOTE)}</div>')
    if summary.get("complete") is False:
        banners.append(
            '<div class="banner dry"><b>INCOMPLETE.</b> The run was interrupted '
            "before it covered the whole window.</div>"
        )
    if summary.get("source"):
        banners.append(f'<div class="banner note">{_e(summary["source"])}</div>')
    if summary.get("not_redecided"):
        banners.append(
            f'<div class="banner note"><b>{_e(summary["not_redecided"])} recorded images '
            "were not decided again</b> (listed below, with why): `modbot report --rescan` "
            "downloads and classifies them again.</div>"
        )
    for warning in summary.get("warnings") or []:
        banners.append(f'<div class="banner note"><b>Warning:</b> {_e(warning)}</div>')
    facts = (
        f"{summary['decisions']} images in {summary['items']} items "
        f"({summary['distinct_images']} distinct); {summary['with_rule']} matched a rule; "
        f"{summary['skipped']} could not be checked."
    )
    window = f"since {summary['since']}" if summary.get("since") else "whole history"
    meta = f"Generated {_e(summary['generated_at'])} &middot; {_e(window)} &middot; model {_e(', '.join(summary['models']) or 'n/a')}"
    grid = [
        '<div class="grid">',
        _counts_table("By rule", summary["by_rule"], "No rule matched."),
        _actions_table(summary["by_action"]),
        _counts_table(
            "Not checked (by reason)", summary["by_skip_reason"], "Every image was checked."
        ),
        _counts_table("By label", summary["by_label"], "No label fired."),
        *(
            [_counts_table("Exempt (rule matched, no action)", summary["by_exempt"], "")]
            if summary["by_exempt"]
            else []
        ),
        *(
            [_counts_table("Not decided again (by reason)", summary["by_not_redecided"], "")]
            if summary.get("by_not_redecided")
            else []
        ),
        *(
            [_counts_table("Upload gate (by answer)", gate["by_outcome"], "")]
            if (gate := summary.get("gate") or {}).get("records")
            else []
        ),
        "</div>",
    ]
    template = resources.files("modbot.modes").joinpath("report.html").read_text("utf-8")
    before, after = template.split("$body", 1)
    head = Template(before).substitute(
        title=_e(title), banners="".join(banners), facts=_e(facts), meta=meta
    )
    return head + "\n".join(grid) + "\n", after


def render_html(
    decisions: Iterable[Mapping[str, Any]], *, title: str = "modbot report", **summary_options: Any
) -> str:
    """One self-contained page: banners, counts, then the decisions. No image, no script."""
    decisions = list(decisions)
    summary = build_summary(decisions, **summary_options)
    head, tail = page_parts(summary, title)
    body = []
    for section in SECTIONS:
        rows = [d for d in decisions if section_of(d) == section]
        if section == "acted":
            rows.sort(key=severity)  # stable: record order within a severity
        if section in ("not_redecided", "gate") and not rows:
            continue
        body.append(section_head(section, len(rows)))
        body.extend(row_html(d) for d in rows)
        body.append(section_tail(section, len(rows)))
    return head + "\n".join(body) + tail
