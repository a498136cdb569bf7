"""Lemmy refuses a report reason over 1,000 characters (`report_too_long`), for good: the
values a rule's placeholders fill in are cut until the reason fits, each still inert, and
`check-rules` refuses a reason whose own words leave no room for them."""

from __future__ import annotations

import pytest
from support.bot import Bot
from support.policies import write_rules

from modbot.actions.kinds import REPORT_MAX
from modbot.config.schema import PolicyFile
from modbot.rules import Subject, render

RULES = """
  - name: probe
    if: {labels: [probe]}
    then:
      report: >-
        Look at {{image_url}} by {{author}} in {{community}}; if it will not load, the
        first part of its link is {{image_url}} and the whole link {{image_url}}, a
        link from this instance is {{image_url}}: {{permalink}}
"""


def test_a_report_with_long_values_still_reaches_lemmy(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    # a link 1,200 characters long (what anyone may post), shown four times in the reason (a reason may use a value
    # any number of times): 4 x 300 characters of values, over Lemmy's limit
    url = lemmy.add_remote_file("probe.jpg", photos[tiny.flagged]) + "?p=" + "x" * 1200
    post = lemmy.add_post(cast.pics, cast.bob, name="probe", url=url)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, rules=RULES))
    bot("run", "--once")

    [report] = [r for r in lemmy.reports if r.target_id == post.id]
    assert len(report.reason) <= REPORT_MAX
    assert report.reason.startswith("Look at `http")  # the admin's words, then the value
    assert "…`" in report.reason  # cut, inside its code span
    assert report.reason.endswith(f"{lemmy.url}/post/{post.id}")  # modbot's own link whole


def test_values_are_cut_only_when_the_reason_would_not_fit():
    s = Subject(item_kind="post", image_url="https://x.example/" + "i" * 250 + ".png")
    text = "{{image_url}} {{image_url}} {{image_url}} {{image_url}}"
    whole = render(text, s, "r")
    assert len(whole) > REPORT_MAX and "…" not in whole  # no limit (a message): kept
    assert render("{{image_url}}", s, "r", None, REPORT_MAX) == render("{{image_url}}", s, "r")
    fitted = render(text, s, "r", None, REPORT_MAX)
    assert len(fitted) <= REPORT_MAX and fitted.count("…`") == 4


def test_check_rules_refuses_a_report_reason_with_no_room_for_its_values():
    rule = {"name": "r", "if": {"labels": ["probe"]}, "then": {"report": "w" * 900}}
    with pytest.raises(ValueError, match="900 characters besides its"):
        PolicyFile.model_validate({"rules": [rule]})
    rule["then"]["report"] = "w" * 700 + " {{image_url}}"
    PolicyFile.model_validate({"rules": [rule]})


def test_a_reason_of_many_values_is_cut_to_the_admins_words():
    """Seventy long links, or twenty hashes (never cut): past the limit even at their
    shortest, so the values are left out; nothing from the content is cut in half."""
    s = Subject(
        item_kind="post", image_url="https://x.example/![p](http://t/p.png)", sha256="a" * 64
    )
    for text in ("{{image_url}} " * 70, "see {{sha256}} " * 20):
        fitted = render(text, s, "r", None, REPORT_MAX)
        assert len(fitted) <= REPORT_MAX
        assert "![p]" not in fitted and "a" * 64 not in fitted
        assert fitted.startswith(("… ", "see … "))
