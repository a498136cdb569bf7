"""A purge of pict-rs' cached copy of a remote image (``/internal/purge?proxy=``) whose
answer was lost (a proxy's page, a timeout after pict-rs purged): the next cycle found no
copy and recorded the purge "skipped: nothing to purge", so the audit never said the file
went, nor were its other aliases recorded as purged with it. A purge by alias asks pict-rs
whether it took effect (``image_gone``); so does a purge by the remote URL now."""

from __future__ import annotations

import httpx
import pytest
from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules

from modbot.cli import main
from modbot.store import Store

RULES = """
  - name: bad
    priority: 100
    if: {hash_list: known-bad}
    then:
      remove: "bad"
      purge_image: true
"""

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _purge_outcomes(tmp_path, post_id: int) -> list[dict]:
    store = Store(tmp_path / "state.sqlite3")
    try:
        records = [
            r
            for r in store.decisions()
            if r["item"]["kind"] == "post" and r["item"]["id"] == post_id
        ]
        row = store.action("purge_image", f"proxy:{records[-1]['image']['original_url']}")
    finally:
        store.close()
    return [a for r in records for a in r["actions"] if a["action"] == "purge_image"], row


@pytest.mark.both_lemmys
def test_a_proxy_purge_whose_answer_was_lost_is_recorded_done(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("again.jpg", photos[BAD])
    url = lemmy.proxy_url(remote)
    assert httpx.get(url).status_code == 200  # a viewer: pict-rs now holds a copy
    post = lemmy.add_post(lemmy.cast.pics, cast.alice, name="look", body=f"![x]({url})")
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    # pict-rs purges the copy, and its answer is lost on the way back
    lemmy.tamper("/internal/purge", lambda body: PROXY_PAGE, times=1, server="pictrs")
    main(["run", "--once"])
    assert not [u for u in lemmy.state.uploads.values() if u.proxy and not u.deleted]
    main(["run", "--once"])
    outcomes, row = _purge_outcomes(tmp_path, post.id)
    assert outcomes[0]["status"] == "failed", outcomes
    last = outcomes[-1]
    assert last["status"] == "done", outcomes
    assert "shows it done" in last["detail"], last
    assert row["status"] == "done", row
    purges = [r for r in lemmy.mutating_requests() if r.path == "/internal/purge"]
    assert len(purges) == 1, "the purge is not sent a second time"


@pytest.mark.both_lemmys
def test_a_proxy_purge_in_flight_when_modbot_was_killed_is_settled_done(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """The run died after pict-rs purged the copy, before its answer was recorded: the next
    run found no copy, said "nothing to purge" and left the claim unsettled."""
    from modbot.lemmy.pictrs import Pictrs

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote = lemmy.add_remote_file("again.jpg", photos[BAD])
    url = lemmy.proxy_url(remote)
    assert httpx.get(url).status_code == 200
    post = lemmy.add_post(lemmy.cast.pics, cast.alice, name="look", body=f"![x]({url})")
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    real = Pictrs.purge_proxy

    def killed(self, url):
        real(self, url)
        raise SystemExit("kill -9")  # nothing after the request runs

    monkeypatch.setattr(Pictrs, "purge_proxy", killed)
    with pytest.raises(SystemExit):
        main(["run", "--once"])
    monkeypatch.setattr(Pictrs, "purge_proxy", real)
    store = Store(tmp_path / "state.sqlite3")
    try:
        assert store.action("purge_image", f"proxy:{remote}")["status"] == "sending"
    finally:
        store.close()
    main(["run", "--once"])
    outcomes, row = _purge_outcomes(tmp_path, post.id)
    assert row["status"] == "done", row
    assert "shows it done" in row["detail"], row
    assert outcomes[-1]["status"] in ("done", "skipped"), outcomes
    assert "nothing to purge" not in outcomes[-1]["detail"], outcomes
    purges = [r for r in lemmy.mutating_requests() if r.path == "/internal/purge"]
    assert len(purges) == 1, "the purge is not sent a second time"
