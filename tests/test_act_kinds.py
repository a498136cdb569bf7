"""The action table says which actions take an item down, for the rules and the
executor alike."""

from __future__ import annotations

from typing import get_args

from modbot.actions.kinds import ACTIONS, takes_item_down
from modbot.model import ItemKind, PlannedAction
from modbot.rules import _takes_item_down


def test_the_table_and_the_rules_agree_on_what_takes_an_item_down():
    for kind in ACTIONS:
        for item_kind in get_args(ItemKind):
            for params in ({}, {"remove_data": False}, {"remove_data": True}):
                planned = PlannedAction(kind, None, params, "a rule")
                assert takes_item_down(kind, params, item_kind) == _takes_item_down(
                    planned, item_kind
                ), (kind, item_kind, params)
    assert not takes_item_down("no such kind", {}, "post")
