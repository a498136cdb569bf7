"""The admins' message about an item the safety valve held: it says what was held back,
not only what the rule says it does (the audit records remove/purge/ban skipped)."""

from __future__ import annotations

from support.bot import remote_photo, sha
from support.policies import BAD

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
      purge_image: true
      ban: {scope: site, duration: permanent, reason: "known abusive image"}
      notify_admins: "The rule removes it, purges the image and bans the account"
"""


def test_the_admins_message_says_what_the_safety_valve_held_back(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    for i, who in enumerate((cast.alice, cast.bob, cast.alice)):
        lemmy.add_post(cast.pics, who, name=f"bad {i}", url=bad_url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=RULES)
    pipeline.executor.max_destructive_per_hour = 2
    pipeline.poll_once(deep=True)
    assert pipeline.store.valve_tripped()
    text = "\n".join(m.content for m in lemmy.private_messages)
    lines = [ln for ln in text.splitlines() if "The rule removes it" in ln]
    assert len(lines) == 3, text
    held = [ln for ln in lines if "the safety valve held them back" in ln]
    assert held, text
    for line in held:
        assert "remove" in line and "ban" in line, line
    # an item acted on in full says nothing of the valve
    assert len(held) < len(lines), text
