"""A read-only (dry-run) client refuses every changing request in the transport itself,
where every request goes, not only in the callers that check today: a future caller
that forgets cannot break "dry-run sends zero changing requests". Its login (which
changes nothing) and its reads still go."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import ReadOnlyError
from modbot.lemmy import LemmyClient
from modbot.lemmy.v3 import _pythorhead_on
from modbot.lemmy.v4 import LemmyClientV4


def read_only(lemmy, kind=LemmyClient):
    return kind(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, read_only=True)


def test_a_changing_request_sent_through_a_read_only_client_is_refused_unsent(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    upload = fake_lemmy.add_upload(cast.alice, b"GIF89a not really")
    client = read_only(fake_lemmy)
    client.login()  # a login changes nothing: a dry run logs in
    # a caller that skipped refuse_if_read_only: pythorhead's removal, a raw POST,
    # the upload's delete link (a GET that deletes), pict-rs' purge
    with pytest.raises(ReadOnlyError, match="read-only"):
        _pythorhead_on(client).post.remove(post.id, True, "spam")
    with pytest.raises(ReadOnlyError, match="read-only"):
        client.send(
            "POST", f"{client.url}/api/v3/user/ban", auth=True, json={"person_id": cast.alice.id}
        )
    delete = f"{client.url}/pictrs/image/delete/{upload.delete_token}/{upload.alias}"
    with pytest.raises(ReadOnlyError, match="read-only") as refused:
        client.send("GET", delete, auth=False)
    assert upload.delete_token not in str(refused.value)  # never in a log or record
    with pytest.raises(ReadOnlyError, match="read-only"):
        client.send(
            "POST", f"{fake_lemmy.pictrs_url}/internal/purge", auth=False, params={"alias": "a"}
        )
    assert fake_lemmy.mutating_requests() == []
    assert not fake_lemmy.post(post.id).removed and not fake_lemmy.upload(upload.alias).deleted
    # reads go as before
    assert client.send("GET", f"{client.url}/api/v3/site", auth=True)["my_user"]


def test_lemmy_1_0s_delete_of_an_image_is_refused_in_a_read_only_client():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        upload = lemmy.add_upload(cast.alice, b"GIF89a not really")
        client = read_only(lemmy, LemmyClientV4)
        client.login()
        with pytest.raises(ReadOnlyError, match="DELETE /api/v4/image refused"):
            client.send(
                "DELETE", f"{client.url}/api/v4/image", auth=True, json={"filename": upload.alias}
            )
        assert lemmy.mutating_requests() == []
        assert not lemmy.upload(upload.alias).deleted
