"""A ban's reason and Lemmy's 10,000-character limit on it (`is_valid_body_field`).

Before, `modbot check-rules` took a ban reason of any length, and the values its
placeholders filled in were never cut: a reason of 9,800 characters with an image URL
or two went over the limit, Lemmy refused the ban (`invalid_body_field`) and the person
stayed unbanned. Now, as for a report's reason, check-rules refuses a ban reason whose
own words leave no room for its values, and the values are cut until the reason fits."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bot import sha
from support.check_rules import problems
from support.policies import BAD

RULE = """
  - name: known abusive image
    if: {{hash_list: known-bad}}
    then:
      ban: {{scope: site, duration: permanent, reason: "{reason}"}}
"""


def test_check_rules_refuses_a_ban_reason_over_lemmys_limit(tmp_path: Path):
    rule = RULE.format(reason="x" * 10_001).replace("hash_list: known-bad", "labels: csam")
    rules = "rules:" + rule
    (line,) = [p for p in problems(tmp_path, rules) if "reason" in p]
    assert "then.ban.reason" in line and "10,000 Lemmy takes" in line, line


@pytest.mark.both_lemmys
def test_a_long_reason_with_its_values_is_cut_to_fit_and_the_ban_sent(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, url=bad.url)
    words = "y" * 9_700
    reason = words + " {{image_url}}" + " {{sha256}}" * 6
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=RULE.format(reason=reason))
    pipeline.poll_once(deep=True)
    (record,) = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
    assert ban["status"] == "done", ban
    alice = lemmy.person(cast.alice.id)
    assert alice.banned
    assert alice.ban_reason.startswith(words) and len(alice.ban_reason) <= 10_000
