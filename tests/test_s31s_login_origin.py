"""The bot's Lemmy login goes only to the instance's own origins: LEMMY_URL's and the
public URL's scheme, host and port together. A link on the same host and port in
another scheme (``http://lemmy.example:443/...`` for ``https://lemmy.example``) is
another origin: it never gets the token, which plain HTTP would show to every hop."""

from __future__ import annotations

import asyncio

import pytest

from modbot.config.settings import Secret
from modbot.fetch import BadStatus, Fetcher, InstanceLogin

TOKEN = Secret("the-bots-jwt")


def login_for(*urls: str) -> tuple[InstanceLogin, list[str]]:
    calls: list[str] = []

    def token() -> Secret:
        calls.append("token")
        return TOKEN

    return InstanceLogin(urls, token, lambda dropped: calls.append("relogin")), calls


def test_a_link_in_plain_http_to_the_public_urls_https_port_never_gets_the_login(fake_lemmy):
    # the public URL is https on the remote's port; the posted link asks the same host
    # and port over plain http: another origin, though it answers Lemmy's empty 401
    lemmy = fake_lemmy
    port = lemmy.remote_url.rsplit(":", 1)[1]
    link = lemmy.add_remote_behaviour("/pictrs/image/x.png", status=401, content_type=None)
    assert link == f"http://127.0.0.1:{port}/pictrs/image/x.png"
    login, calls = login_for(lemmy.url, f"https://127.0.0.1:{port}")

    async def run():
        async with Fetcher(allowed_hosts=[f"127.0.0.1:{port}"], login=login) as fetcher:
            with pytest.raises(BadStatus) as refused:
                await fetcher.fetch(link)
            return refused.value

    refused = asyncio.run(run())

    # before: asked again with "Cookie: jwt=..." in clear text
    assert refused.reason == "http_401"
    asked = [r for r in lemmy.requests if r.server == "remote"]
    assert [(r.path, r.status, r.credentials) for r in asked] == [("/pictrs/image/x.png", 401, ())]
    assert calls == []  # the token was never even taken


@pytest.mark.parametrize(
    ("instance", "link", "covered"),
    [
        ("https://lemmy.example", "https://lemmy.example/pictrs/image/x.png", True),
        ("https://lemmy.example", "https://LEMMY.example:443/pictrs/image/x.png", True),
        ("https://lemmy.example", "http://lemmy.example:443/pictrs/image/x.png", False),
        ("https://lemmy.example", "http://lemmy.example/pictrs/image/x.png", False),
        ("http://lemmy:8536", "http://lemmy:8536/api/v4/image/x.png", True),
        ("http://lemmy:8536", "https://lemmy:8536/api/v4/image/x.png", False),
        ("http://lemmy:8536", "http://lemmy:8537/api/v4/image/x.png", False),
    ],
)
def test_the_login_covers_the_instances_origin_its_scheme_included(instance, link, covered):
    login, _ = login_for(instance)
    path = "/" + link.split("/", 3)[3]
    assert login.covers(link, path) is covered
