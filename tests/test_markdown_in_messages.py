"""What modbot writes into Lemmy (admins' private messages, report, removal and ban
reasons) is Markdown: values from the content must be inert there, the admin's text
stays as written. Through `python -m modbot run --once` against the fake Lemmy; each
text Lemmy received is parsed as lemmy-ui parses it (markdown-it, linkify on)."""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from support.bot import Bot, sha
from support.policies import BAD, write_rules

from modbot.markdown import inert

# What an attacker controls in an image URL's query: a URL as Lemmy stores it (the url
# crate percent-encodes spaces, quotes and <>) keeps backticks, brackets and parentheses.
EVIL = (
    "?a=``x``![px](http://tracker.example/p.png)[click](http://tracker.example/l)"
    "**b**:smile:&u=http://tracker.example/bare&w=www.tracker.example"
)

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "Known abusive image {{image_url}} by {{author}}"
      ban: {scope: site, duration: permanent, reason: "Posted {{image_url}} in {{community}}"}
      notify_admins: "**Look**: {{author}} posted {{image_url}} in {{community}}: {{permalink}}"
  - name: probe
    if: {labels: [probe]}
    then: {report: "probe {{image_url}} by {{author}}"}
"""


def lemmy_ui() -> MarkdownIt:
    """lemmy-ui's renderer: markdown-it, default preset, html off, linkify on."""
    return MarkdownIt("js-default", {"html": False, "linkify": True, "typographer": True})


def live(text: str) -> list[tuple[str, str]]:
    """Every image and link markdown-it would render in `text`: (kind, target)."""
    found = []
    for token in lemmy_ui().parse(text):
        for child in token.children or []:
            if child.type == "image":
                found.append(("image", child.attrs.get("src")))
            elif child.type == "link_open":
                found.append(("link", child.attrs.get("href")))
            elif child.type == "html_inline":
                found.append(("html", child.content))
    return found


def test_values_from_content_are_inert_in_messages_and_reasons(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_file("bad.jpg", photos[BAD]) + EVIL
    probe_url = lemmy.add_remote_file("probe.jpg", photos[tiny.flagged]) + EVIL
    bad = lemmy.add_post(cast.pics, cast.bob, name="bad", url=url)
    lemmy.add_post(cast.pics, cast.bob, name="probe", url=probe_url)
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES),
    )
    bot("run", "--once")

    assert lemmy.post(bad.id).removed and lemmy.person(cast.bob.id).banned
    permalink = f"{lemmy.url}/post/{bad.id}"
    shown_url = inert(url)
    assert shown_url.startswith("```")  # the URL has `` in it
    texts = {
        "message": [m.content for m in lemmy.private_messages],
        "report": [r.reason for r in lemmy.reports],
        "removal": [a.reason for a in lemmy.modlog if a.action == "remove_post"],
        "ban": [a.reason for a in lemmy.modlog if a.action == "ban"],
    }
    assert all(len(v) == 1 for v in texts.values()), texts
    # Only modbot's own link to the post is live; nothing from the content is.
    assert {kind: [live(t) for t in v] for kind, v in texts.items()} == {
        "message": [[("link", permalink)] * 2],
        "report": [[]],
        "removal": [[]],
        "ban": [[]],
    }
    # The admin's text as written (its **Look** stays bold), the values as literal text.
    (message,) = texts["message"]
    assert (
        f"- **Look**: `bob@remote.example` posted {shown_url} in "
        f"`pics@{urlsplit(lemmy.url).hostname}`: {permalink} ({permalink})"
    ) in message
    assert texts["report"] == [f"probe {inert(probe_url)} by `bob@remote.example`"]
    assert texts["removal"] == [f"Known abusive image {shown_url} by `bob@remote.example`"]
    # What markdown-it shows of the URL is the URL itself, every character of it.
    rendered = lemmy_ui().renderInline(shown_url)
    assert rendered.startswith("<code>") and "<img" not in rendered and "<a " not in rendered
    assert "``x``![px](http://tracker.example/p.png)[click](http://tracker.example/l)" in rendered


def test_a_code_span_holds_whatever_the_value_is():
    md = lemmy_ui()
    for value in [
        "plain",
        "`",
        "``",
        "a`b",
        "`a`",
        "a ``` b",
        " lead",
        "trail ",
        "`` ``",
        "![i](http://t.example/p.png)",
        "<http://t.example>",
        "x\ny",
        "\u202eevil",
        "http://t.example/" + "a" * 400,
    ]:
        html = md.renderInline(f"before {inert(value)} after")
        assert html.startswith("before <code>") and html.endswith("</code> after"), (value, html)
        assert "<a " not in html and "<img" not in html
        shown = html[len("before <code>") : -len("</code> after")]
        if len(value) < 300 and value.isprintable():
            assert shown == value.replace("<", "&lt;").replace(">", "&gt;"), (value, shown)
    assert inert("x\ny") == "`x\\ny`" and inert("\u202eevil") == "`\\u202eevil`"


def test_a_feed_servers_answer_is_inert_in_the_refusal_the_admins_get(
    fake_lemmy, pipeline_for, tmp_path
):
    """Whoever answers at a subscribed feed's URL writes what the refusal quotes (the
    signature file's first line, the start of the feed): inert in the admins' message,
    the admin's own feed URL readable as it is."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import public_key_text

    lemmy = fake_lemmy
    lemmy.add_remote_file(
        "hashes.json", b"[x](http://tracker.example/l)", content_type="text/plain"
    )
    lemmy.add_remote_file(
        "hashes.json.sig", b"![](http://tracker.example/p.png)\n", content_type="text/plain"
    )
    url = f"{lemmy.remote_url}/hashes.json"
    key = public_key_text(Ed25519PrivateKey.generate().public_key())
    feeds = f"""
feeds:
  peer: {{url: "{url}", key: "{key}", use: known-bad, instance: a.example}}
"""
    pipeline = pipeline_for(lemmy, rules=RULES + feeds)
    pipeline.poll_once(deep=True)

    (warning,) = [w for w in pipeline.warnings if w.startswith("feed")]
    assert "![](http://tracker.example/p.png)" in warning  # the log has it as it is
    (message,) = lemmy.private_messages
    assert live(message.content) == [("link", url)]
    assert f"- feed 'peer' ({url}) refused: `the signature file is malformed" in message.content
    assert message.content.count("no copy of it is used") == 1
