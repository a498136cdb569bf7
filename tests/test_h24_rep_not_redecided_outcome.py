"""A record `modbot report` cannot decide again (its verdict is of another model or
concept set) still shows, in the HTML, what its recorded decision did: the rule and each
action with its outcome. Before, the page listed it with why only, and its counts said
"No rule asked for an action": a ban done under the old model did not show at all."""

from __future__ import annotations

import html
import re

from support.bot import remote_photo, sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main

RULES = """
  - name: bad
    if: {hash_list: known-bad}
    then:
      remove: bad
      ban: {scope: site, duration: permanent, reason: "known abusive"}
"""


def _text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_record_not_decided_again_shows_what_its_decision_did(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, BAD))
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    assert main(["run", "--once"]) == 0
    assert lemmy.person(cast.bob.id).banned and lemmy.post(post.id).removed
    # the concepts change (another threshold): the recorded verdicts are of another version
    text = rules.read_text().replace(f"threshold: {tiny.threshold!r}", "threshold: 0.5")
    assert text != rules.read_text()
    rules.write_text(text)

    assert main(["report", "--since", "1d", "--out", "report.html"]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Recorded, not decided again (1)" in page
    said = _text(page)
    assert "recorded: rule, actions" in said
    assert f"since bad remove done remove post {post.id} ban done ban " in said, said
    assert "from the site permanently" in said
