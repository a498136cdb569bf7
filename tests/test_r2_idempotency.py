"""Lemmy 1.0's idempotency keys: which retries of an action get a new key.

Lemmy's middleware (routes/src/middleware/idempotency.rs) keeps a POST/PUT's key before
its handler runs and never forgets it on an error, so the same key again answers 422
(read as done). An error Lemmy itself answered (its JSON error body) means the action
was not carried out: its retry gets a new key. An answer that never came from Lemmy (a
proxy's page, a cut connection, a timeout) keeps the key: the action may have run.
The fake keeps keys as Lemmy does (before its own faults, after nginx's).
"""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyError
from modbot.lemmy.transport import Transient
from modbot.lemmy.v4 import LemmyClientV4

REMOVE = "/api/v4/post/remove"


def _client(lemmy) -> LemmyClientV4:
    return LemmyClientV4(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
    )


def _sent_keys(client, monkeypatch) -> list[str]:
    sent: list[str] = []
    send = client.send

    def recording(method, url, *, auth, **kwargs):
        key = (kwargs.get("headers") or {}).get("Idempotency-Key")
        if key is not None:
            sent.append(key)
        return send(method, url, auth=auth, **kwargs)

    monkeypatch.setattr(client, "send", recording)
    return sent


@pytest.mark.parametrize("status", [500, 503])
def test_an_action_lemmy_itself_answered_5xx_is_retried_under_a_new_key(monkeypatch, status):
    # Lemmy's handler answered its JSON error: the key is kept by the middleware but
    # the post was not removed; the same key again would answer 422, read as done.
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = _client(lemmy)
        sent = _sent_keys(client, monkeypatch)
        lemmy.fail_next(REMOVE, status=status, error="unknown", message="database is down")
        client.remove_post(post.id, "known abusive image")
        assert lemmy.post(post.id).removed, "a refused removal was recorded as done"
        assert len(sent) == 2 and sent[0] != sent[1]


def test_a_proxys_gateway_page_keeps_the_key(monkeypatch):
    # nginx's 502 page: Lemmy may or may not have seen it; the same key is sent again
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = _client(lemmy)
        sent = _sent_keys(client, monkeypatch)
        lemmy.fail_next(REMOVE, status=502)
        client.remove_post(post.id, "known abusive image")
        assert lemmy.post(post.id).removed
        assert len(sent) == 2 and sent[0] == sent[1]


@pytest.mark.parametrize(
    "lost", ["HTTP 504", "connection error: ReadError", "timed out (no whole answer)"]
)
def test_an_answer_lost_after_lemmy_acted_keeps_the_key_and_is_done_once(monkeypatch, lost):
    # Lemmy removed the post, then the proxy answered 504 (or the connection was cut):
    # the retry under the same key answers 422, read as done; a new key would act twice.
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = _client(lemmy)
        send, sent, losing = client.send, [], [lost]

        def proxy(method, url, *, auth, **kwargs):
            key = (kwargs.get("headers") or {}).get("Idempotency-Key")
            if key is not None:
                sent.append(key)
            answer = send(method, url, auth=auth, **kwargs)
            if key is not None and losing:
                raise Transient(losing.pop())
            return answer

        monkeypatch.setattr(client, "send", proxy)
        assert client.remove_post(post.id, "known abusive image") == {}
        assert lemmy.post(post.id).removed
        assert len(sent) == 2 and sent[0] == sent[1]
        acted = [r for r in lemmy.requests if r.path == REMOVE and r.status == 200]
        assert len(acted) == 1, "the removal was carried out more than once"


def test_a_422_with_lemmys_error_code_is_not_read_as_done():
    # only the middleware's 422 (empty body) means "carried out already"
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        client = _client(lemmy)
        lemmy.fail_next(REMOVE, status=422, error="couldnt_update_post")
        with pytest.raises(LemmyError) as raised:
            client.remove_post(post.id, "known abusive image")
        assert raised.value.status == 422 and raised.value.error == "couldnt_update_post"
        assert not lemmy.post(post.id).removed
