"""``user:password@`` in LEMMY_URL is the basic-auth login of a proxy in front of Lemmy:
httpx sends it as ``Authorization: Basic``, which used to replace the bot's ``Bearer``
token, so every request reached Lemmy anonymous (and each check logged in again, a
scarce login spent each time). The bot's token now goes in the ``jwt`` cookie, which
Lemmy reads when the header holds no Bearer token (``read_auth_token``, 0.19 and 1.0)."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyLoginError
from modbot.lemmy import LemmyClient, LemmyClientV4

PROXY_PASSWORD = "proxy-s3cret"


@pytest.fixture(params=["0.19", "1.0"])
def lemmy(request):
    with FakeLemmy() if request.param == "0.19" else FakeLemmy(version="1.0") as fake:
        fake.cast = standard_cast(fake)
        yield fake


def client_for(lemmy, url):
    kind = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    return kind(url, "modbot", Secret("pw"), requests_per_minute=0, retries=0)


def wire(client):
    """The Authorization and Cookie headers each request left with (after httpx's auth)."""
    seen = []
    inner = client.http._transport

    class Spy(httpx.BaseTransport):
        def handle_request(self, request):
            seen.append((request.headers.get("authorization"), request.headers.get("cookie")))
            return inner.handle_request(request)

    client.http._transport = Spy()
    return seen


def test_the_bot_is_itself_behind_a_basic_auth_proxy(lemmy, caplog):
    caplog.set_level(logging.DEBUG)
    url = lemmy.url.replace("http://", f"http://gate:{PROXY_PASSWORD}@")
    client = client_for(lemmy, url)
    seen = wire(client)
    try:
        site = client.check_session()
        assert site.account is not None and site.account.person_id == lemmy.cast.bot.id
        post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice)
        client.remove_post(post.id, "a rule")
    finally:
        client.close()
    assert lemmy.state.posts[post.id].removed
    assert client.logins == 1
    assert {r.user for r in lemmy.requests if "login" not in r.path} == {"modbot"}
    basic = "Basic " + base64.b64encode(f"gate:{PROXY_PASSWORD}".encode()).decode()
    assert all(auth == basic for auth, _ in seen), "the proxy gets its login on each request"
    assert PROXY_PASSWORD not in caplog.text


def test_without_a_proxy_login_the_token_is_a_bearer(lemmy):
    client = client_for(lemmy, lemmy.url)
    seen = wire(client)
    try:
        client.check_session()
    finally:
        client.close()
    assert any(auth and auth.startswith("Bearer ") for auth, _ in seen)
    assert not any(cookie for _, cookie in seen)


def test_a_proxy_refusing_its_login_says_which(lemmy):
    url = lemmy.url.replace("http://", f"http://gate:{PROXY_PASSWORD}@")
    login = "/api/v3/user/login" if lemmy.api_version == "v3" else "/api/v4/account/auth/login"
    lemmy.fail_next(login, status=401)
    client = client_for(lemmy, url)
    try:
        with pytest.raises(LemmyLoginError, match="user and password written in LEMMY_URL") as e:
            client.login()
    finally:
        client.close()
    assert PROXY_PASSWORD not in str(e.value)
