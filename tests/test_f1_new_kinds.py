"""The rules, their checks and the handlers know the item types of images written into a
bio, a community's description and the site's sidebar (`bio`, `community_description`,
`site_sidebar`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from modbot.actions.handlers import HANDLERS
from modbot.config.checks import never_acts
from modbot.config.policy import load_policy
from modbot.model import ActionOutcome, PlannedAction, Target
from modbot.rules import Subject


def policy(tmp_path: Path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_policy(path)


@pytest.mark.parametrize(
    ("kinds", "warned"),
    [
        ("bio", "bio images have no community"),
        ("site_sidebar", "the site's sidebar is written by admins: its images are never acted on"),
        ("[site_icon, site_sidebar]", "site_icon or site_sidebar images have no community"),
        ("[avatar, bio]", "avatar or bio images have no community"),
        ("community_description", None),  # a description is a community's
        ("[bio, community_description]", None),
    ],
)
def test_a_community_condition_on_an_image_of_no_community_is_warned_about(
    tmp_path: Path, kinds: str, warned: str | None
):
    p = policy(
        tmp_path,
        f"""
        rules:
          - name: r
            if: {{type: {kinds}, community: {{name: pics}}, labels: nsfw}}
            then: {{purge_image: true}}
        """,
    )
    assert never_acts(p.rules[0]) == warned


BAN_AND_REPORT = """
rules:
  - name: ban
    if: {labels: nsfw}
    then: {ban: {scope: site, duration: permanent, remove_data: true, reason: x}}
  - name: tell
    if: {labels: nsfw}
    then: {report: "look"}
"""


def nsfw(kind: str) -> Subject:
    return Subject(item_kind=kind, found_in="profile", labels=("nsfw",), scores={"nsfw": 0.1})


@pytest.mark.parametrize("kind", ["community_description", "site_sidebar"])
def test_a_ban_does_not_take_down_an_image_of_no_author(tmp_path: Path, kind: str):
    # A community's description has no author to ban: the ban takes nothing down, so the
    # report (to the admins) is still made, as for a community icon.
    plan = policy(tmp_path, BAN_AND_REPORT).decide(nsfw(kind))
    assert [a.kind for a in plan.actions] == ["ban", "report"]


@pytest.mark.parametrize("kind", ["bio", "avatar", "upload"])
def test_a_community_ban_does_not_take_down_what_is_in_no_community(tmp_path: Path, kind):
    # A community ban with remove_data removes the person's posts and comments in that
    # community: a bio, an avatar or an upload stays, so the report is still made.
    rules = BAN_AND_REPORT.replace("scope: site", "scope: community")
    assert rules != BAN_AND_REPORT
    subject = (
        nsfw(kind)
        if kind != "upload"
        else Subject(item_kind="upload", found_in="upload", labels=("nsfw",), scores={"nsfw": 0.1})
    )
    plan = policy(tmp_path, rules).decide(subject)
    assert [a.kind for a in plan.actions] == ["ban", "report"]


def test_a_rule_only_about_the_site_sidebar_is_warned_about(tmp_path: Path):
    p = policy(
        tmp_path,
        """
        rules:
          - name: sidebar
            if: {type: site_sidebar, labels: nsfw}
            then: {notify_admins: "look"}
        """,
    )
    assert never_acts(p.rules[0]) == (
        "the site's sidebar is written by admins: its images are never acted on"
    )
    # the admins' exemption: nothing is done, not even the message
    sidebar = Subject(
        item_kind="site_sidebar", found_in="profile", author_is_admin=True, labels=("nsfw",)
    )
    assert p.decide(sidebar).actions == []


@pytest.mark.parametrize("kind", ["community_icon", "post"])
def test_the_rules_ask_the_action_table_what_takes_an_item_down(tmp_path: Path, kind: str):
    plan = policy(tmp_path, BAN_AND_REPORT).decide(nsfw(kind))
    expected = ["ban", "report"] if kind == "community_icon" else ["ban"]
    assert [a.kind for a in plan.actions] == expected


@pytest.mark.parametrize("unreadable", [False, True])
def test_an_image_not_checked_is_neither_readable_nor_unreadable(tmp_path: Path, unreadable):
    # The original failed and nothing was checked instead: there is no verdict, so a
    # rule about the instance's copy being readable (or not) does not hold.
    p = policy(
        tmp_path,
        f"""
        rules:
          - name: about the copy
            if: {{fetch_failed: true, unreadable: {str(unreadable).lower()}}}
            then: {{report: "the original failed"}}
        """,
    )
    skipped = Subject(
        item_kind="post", found_in="post_url", skipped="http_404", fetch_failed="http_404"
    )
    assert p.decide(skipped).actions == []
    checked = Subject(
        item_kind="post",
        found_in="post_url",
        fetch_failed="http_404",
        checked_copy="https://lemmy.test/pictrs/image/copy.jpg",
        unreadable="truncated" if unreadable else None,
        scores={} if unreadable else {"nsfw": -0.1},
    )
    plan = p.decide(checked)
    assert [a.kind for a in plan.actions] == ["report"]
    assert ("unreadable (truncated)" if unreadable else "readable") in plan.matched[0].conditions


class _Notifier:
    """The part of the executor a profile image's report and a site image's purge use."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def notify(self, key: str, message: str, action: str = "notify_admins") -> ActionOutcome:
        self.sent.append(message)
        return ActionOutcome(action, "done", message)


@pytest.mark.parametrize(
    ("kind", "author", "said"),
    [
        ("bio", "alice@lemmy.test", "image in a bio of `alice@lemmy.test` "),
        ("community_description", "", "image in a community description "),
        ("site_sidebar", "", "image in the site sidebar "),
    ],
)
def test_a_report_on_an_image_in_a_text_says_where_it_is(kind: str, author: str, said: str):
    ex = _Notifier()
    url = "https://lemmy.test/pictrs/image/abc.jpg"
    target = Target(kind=kind, id=f"7:{kind}", url="", author_name=author, image_url=url)
    HANDLERS["report"](ex, target, PlannedAction("report", "look", {}, "r"))  # type: ignore[arg-type]
    assert ex.sent == [f"look ({said}`{url}`)"]


@pytest.mark.parametrize("action", ["purge_image", "delete_image"])
def test_an_image_in_the_site_sidebar_is_an_admins(action: str):
    target = Target(kind="site_sidebar", id="site:ab", image_alias="abc.jpg", image_url="u")
    outcome = HANDLERS[action](_Notifier(), target, PlannedAction(action, None, {}, "r"))  # type: ignore[arg-type]
    assert (outcome.status, outcome.detail) == ("skipped", "an admin's image: never acted on")
