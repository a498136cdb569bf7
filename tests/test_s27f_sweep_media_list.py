"""A sweep of Lemmy 1.0 looks at every upload of its media list, not the newest
``MEDIA_KEPT`` only, and keeps its place in the list (a stopped or killed sweep resumes
at the page it was on).

Before: the sweep read uploads through the poll's ``uploads``, which walks 1.0's
unordered list whole but keeps only its newest 5,000: on a larger instance the rest were
never looked at, and nothing said so. Now a sweep hands out the list page by page in its
own order by its cursor (``upload_pages``), the cursor kept in the sweep's position. The
cap is lowered here so that a few pages exceed it."""

from __future__ import annotations

import json
from datetime import timedelta

from support.cli import bot_environment
from support.policies import write_rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import now
from modbot.cli import main
from modbot.config.settings import Secret
from modbot.lemmy import v4
from modbot.lemmy.v4 import LemmyClientV4
from modbot.source import Source
from modbot.store import Store


def _uploads(lemmy, person, data, count):
    start = now() - timedelta(days=3)
    return [
        lemmy.add_upload(person, data, published=start + timedelta(minutes=i)).alias
        for i in range(count)
    ]


def test_a_sweep_looks_at_every_upload_of_a_media_list_larger_than_the_cap(
    photos, tiny, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(v4, "MEDIA_KEPT", 60)
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        aliases = _uploads(lemmy, cast.alice, photos["chelsea"], 120)  # 3 pages of 50
        rules = write_rules(tmp_path, lemmy, tiny)
        monkeypatch.chdir(tmp_path)
        bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
        assert main(["sweep", "--dry-run", "--report", "sweep.json"]) == 0
        doc = json.loads((tmp_path / "sweep.json").read_text())
        looked = {d["item"]["id"] for d in doc["decisions"] if d["item"]["kind"] == "upload"}
        assert looked == set(aliases), f"{len(set(aliases) - looked)} uploads not looked at"
        assert lemmy.mutating_requests() == []


def test_a_stopped_sweep_resumes_in_the_media_list_at_the_page_it_was_on(photos, tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        aliases = _uploads(lemmy, cast.alice, photos["chelsea"], 130)
        client = LemmyClientV4(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, read_only=True
        )
        store = Store(tmp_path / "s.sqlite3")
        try:
            walk = Source(client, store, scope="t").walk()
            pages = 0
            for batch in walk:  # stopped as a kill -9 would: after a batch, no cleanup
                if any(i.kind == "upload" for i in batch):
                    pages += 1
                    if pages == 2:
                        break
            walk.close()
            position = json.loads(store.get_cursor("t:sweep_position"))
            assert position["phase"] == "uploads" and position["cursor"], position
            lemmy.clear_requests()
            rest = [i.id for b in Source(client, store, scope="t").walk() for i in b]
            asked = [
                r.query.get("page_cursor") for r in lemmy.requests if r.path.endswith("/image/list")
            ]
            assert asked[0] == position["cursor"], "resumed at the page it was on"
            assert set(rest) & set(aliases) == set(aliases[50:]), "the second page on"
            assert store.get_cursor("t:sweep_position") is None, "the walk completed"
        finally:
            client.close()
            store.close()
