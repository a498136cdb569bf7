"""A sweep hands each person's avatar and banner out once a walk, however many people it
meets: the marks of what it handed out are kept bounded in memory (``HandedOut``: the
first ``IN_MEMORY`` in memory, the rest in a temporary SQLite file), not as a set of
strings that grew ~18 MB per 100,000 (``benchmarks/sweep_marks.py``). Past the memory
part, and where the temporary file cannot be made, each is still handed out once."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.source import HandedOut, Source
from modbot.store import Store

PEOPLE, POSTS_EACH = 12, 4


def _walk_avatars(lemmy, tmp_path) -> list[tuple[str, object]]:
    """The profile images a walk that marks nothing seen (as ``modbot report``) hands out."""
    start = now() - timedelta(days=1)
    for n in range(PEOPLE):
        person = lemmy.add_person(f"p{n}")
        lemmy.set_images(person, avatar=f"{lemmy.remote_url}/a{n}.png")
        for k in range(POSTS_EACH):
            lemmy.add_post(
                lemmy.cast.pics,
                person,
                name=f"{n}/{k}",
                body="text",
                published=start + timedelta(minutes=n * POSTS_EACH + k),
            )
    store = Store(tmp_path / "state.sqlite3")
    try:
        client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)
        source = Source(client, store, scope="report", remember_seen=False)
        walked = [i for batch in source.walk() for i in batch]
    finally:
        store.close()
    return [(i.kind, i.id) for i in walked if i.kind == "avatar"]


def test_each_avatar_is_handed_out_once_past_the_marks_kept_in_memory(
    fake_lemmy, tmp_path, monkeypatch
):
    monkeypatch.setattr(HandedOut, "IN_MEMORY", 3)  # the rest in the temporary database
    avatars = _walk_avatars(fake_lemmy, tmp_path)
    assert len(avatars) == len(set(avatars)) >= PEOPLE, avatars


def test_a_temporary_file_that_cannot_be_made_keeps_the_marks_in_memory(
    fake_lemmy, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(HandedOut, "IN_MEMORY", 3)

    class ReadOnlyTmp:  # the sqlite3 the marks see: no temporary file can be made
        Error = sqlite3.Error

        @staticmethod
        def connect(*args, **kwargs):
            raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("modbot.source.sqlite3", ReadOnlyTmp)
    with caplog.at_level(logging.WARNING, logger="modbot.source"):
        avatars = _walk_avatars(fake_lemmy, tmp_path)
    assert len(avatars) == len(set(avatars)) >= PEOPLE, avatars
    said = [r.getMessage() for r in caplog.records if "temporary file" in r.getMessage()]
    assert len(said) == 1 and "kept in memory for this walk" in said[0], said
