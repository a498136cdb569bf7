"""A link's secret query values are kept out of the log and the refusal whatever the
parameter's spelling: ``pwd=`` and ``pw=`` (a password's usual short names),
``credential=``, and a name written percent-encoded (``%74oken=``, which every server
reads as ``token``). Before, only names holding ``token``, ``key``, ``sig``, ``auth``,
``pass``, ``secret``, ``jwt`` or ``session`` as written were hidden: the others were
logged (and said) as they came."""

from __future__ import annotations

import asyncio
import logging

import pytest

from modbot.fetch import Fetcher, PrivateAddress, redact


@pytest.mark.parametrize(
    "query",
    ["user=me&pwd=SECRET1", "pw=SECRET1", "x_credential=SECRET1", "%74oken=SECRET1", "PWD=SECRET1"],
)
def test_a_secret_under_another_name_is_not_logged(query, caplog):
    async def go():
        async with Fetcher() as fetcher:  # nothing trusted: refused as private
            with pytest.raises(PrivateAddress) as info:
                await fetcher.fetch(f"http://127.0.0.1:47/a.png?{query}")
        return info.value

    caplog.set_level(logging.INFO, logger="modbot.fetch")
    err = asyncio.run(go())
    assert "skipped image http://127.0.0.1:47/a.png?" in caplog.text
    assert "SECRET1" not in caplog.text
    assert "SECRET1" not in str(err)


def test_other_parameters_are_kept():
    assert redact("http://i.example/a.png?w=200&user=me&pwd=x") == (
        "http://i.example/a.png?w=200&user=me&pwd=***"
    )
