"""Lemmy 1.0 has no delete tokens: its only image deletion, the admin's ``DELETE
/image``, purges the file (every alias of the same bytes). A target still carrying a
0.19 delete token (a journal entry written before the upgrade, carried on by 1.0) must
not turn a ``delete_image`` (this alias only) into a purge of every alias."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy import LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store


@pytest.fixture
def lemmy4():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def test_delete_image_with_an_old_token_does_not_purge_the_other_aliases(lemmy4, tmp_path):
    data = png()
    first = lemmy4.add_upload(lemmy4.cast.alice, data)
    other = lemmy4.add_upload(lemmy4.cast.bob, data)  # the same bytes: one file
    client = LemmyClientV4(lemmy4.url, "modbot", Secret("pw"), requests_per_minute=0)
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(client, store, run_id="run0", dry_run=False)
        target = Target(
            kind="upload",
            id=first.alias,
            image_alias=first.alias,
            delete_token="a-0.19-token",  # from a journal entry written on 0.19
        )
        (outcome,) = executor.execute(target, [PlannedAction("delete_image", "", {}, "a rule")])
    finally:
        client.close()
        store.close()
    assert not lemmy4.state.uploads[other.alias].deleted, "bob's alias was purged too"
    assert outcome.status != "done", outcome.detail
    assert "delete token" in outcome.detail and "PICTRS_URL" in outcome.detail, outcome.detail


def test_the_v4_client_refuses_a_delete_token(lemmy4):
    client = LemmyClientV4(lemmy4.url, "modbot", Secret("pw"), requests_per_minute=0)
    try:
        with pytest.raises(LemmyError, match="no delete tokens"):
            client.delete_image("x.png", "token")
    finally:
        client.close()
    assert not any(r.path.endswith("/image") for r in lemmy4.requests)
