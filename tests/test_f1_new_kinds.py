"""The rules, their checks and the handlers know the item types of images written into a
bio, a community's description and the site's sidebar (`bio`, `community_description`,
`site_sidebar`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from modbot.config.checks import never_acts
from modbot.config.policy import load_policy


def policy(tmp_path: Path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_policy(path)


@pytest.mark.parametrize(
    ("kinds", "warned"),
    [
        ("bio", "bio images have no community"),
        ("site_sidebar", "site_sidebar images have no community"),
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
