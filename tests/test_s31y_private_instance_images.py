"""A private instance shows its images to logged-in users only (0.19: `/pictrs/image/`
when `private_instance`; 1.0: `/api/v4/image/...` and its proxy when private and not
federating): modbot reads the instance's own images there with its login, as the `jwt`
cookie, once the instance has asked for it, and never sends it anywhere else: not to
another host (nor another port of the same one), not to pict-rs, not across a redirect,
not to 0.19's delete route. A login Lemmy dropped is replaced once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.bot import Bot, sha
from support.policies import BAD, write_rules

from fakelemmy.scenarios import PASSWORD
from modbot.config.settings import Secret
from modbot.fetch import BadStatus, Fetcher, InstanceLogin
from modbot.lemmy import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def make_private(lemmy) -> None:
    lemmy.state.site.private_instance = True
    lemmy.state.site.federation_enabled = False  # 1.0 asks for a login only then


def client_for(lemmy, **kwargs):
    cls = LemmyClient if lemmy.api_version == "v3" else LemmyClientV4
    return cls(lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, **kwargs)


def fetch_with_login(lemmy, client, *urls: str):
    """Fetch ``urls`` in turn with the instance login of ``client``: each result, or the
    refusal it got."""
    hosts = [u.split("//", 1)[1] for u in (lemmy.url, lemmy.remote_url)]
    login = InstanceLogin(
        [lemmy.url], client.token, lambda dropped: client.login(dropped=dropped, what="test")
    )

    async def run():
        results = []
        async with Fetcher(allowed_hosts=hosts, login=login) as fetcher:
            for url in urls:
                try:
                    results.append(await fetcher.fetch(url))
                except BadStatus as exc:
                    results.append(exc)
        return results

    return asyncio.run(run())


@pytest.mark.both_lemmys
def test_a_private_instances_own_upload_is_read_with_the_login_and_the_rule_acts(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=bad.url)
    elsewhere = lemmy.add_remote_file("elsewhere.jpg", photos[tiny.others[0]])
    lemmy.add_comment(post, cast.bob, content=f"![x]({elsewhere})")
    assert httpx.get(bad.url).status_code == 401  # what a visitor without a login gets
    seen = len(lemmy.requests)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])]))

    bot("run", "--once")

    # before: skipped as http_401, never classified, the post stayed
    (record,) = [r for r in bot.decisions() if r["item"]["kind"] == "post"]
    assert record["skipped"] is None and record["rule"] == "known abusive image"
    assert lemmy.post(post.id).removed and lemmy.person(cast.alice.id).banned
    image_reads = [
        (r.status, r.user)
        for r in lemmy.requests[seen:]
        if r.server == "lemmy" and r.path.endswith(bad.alias) and r.method == "GET"
    ]
    # asked without the login first; with it once the instance said 401
    assert image_reads == [(401, None), (200, cast.bot.name)]
    # the remote image (same address, another port) and pict-rs never see the login
    remote = [r for r in lemmy.requests if r.server == "remote"]
    assert [r.path for r in remote] == ["/elsewhere.jpg"]
    assert all(r.credentials == () for r in remote)
    assert all(r.credentials == () for r in lemmy.requests if r.server == "pictrs")


@pytest.mark.both_lemmys
def test_a_public_instance_never_sees_the_login_on_its_image_routes(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="bad", url=bad.url)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])]))

    bot("run", "--once")

    assert lemmy.post(post.id).removed
    reads = [r for r in lemmy.requests if r.server == "lemmy" and r.path.endswith(bad.alias)]
    assert reads and all((r.status, r.credentials) == (200, ()) for r in reads)


@pytest.mark.both_lemmys
def test_a_dropped_login_is_replaced_once_and_a_refused_one_is_not_retried(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    first = lemmy.add_upload(cast.alice, photos["coffee"])
    second = lemmy.add_upload(cast.alice, photos["china"])
    client = client_for(lemmy)
    got = fetch_with_login(lemmy, client, first.url)
    assert got[0].data == photos["coffee"] and client.logins == 1

    lemmy.invalidate_tokens(cast.bot.name)  # a logout elsewhere, a password reset
    got = fetch_with_login(lemmy, client, first.url, second.url)
    # a new fetcher: asked without the login, then with the old token (dropped), which
    # this fetcher never saw let in: not replaced by it (a login per image would run
    # into Lemmy's few logins an hour)
    assert isinstance(got[0], BadStatus) and got[0].reason == "http_401"
    assert client.logins == 1

    # the same fetcher, the token let in and then dropped: one new login, the image read
    login = InstanceLogin(
        [lemmy.url], client.token, lambda dropped: client.login(dropped=dropped, what="test")
    )
    client.login()  # a good token again
    assert client.logins == 2
    hosts = [lemmy.url.split("//", 1)[1]]

    async def run():
        async with Fetcher(allowed_hosts=hosts, login=login) as fetcher:
            one = await fetcher.fetch(first.url)
            lemmy.invalidate_tokens(cast.bot.name)
            two = await fetcher.fetch(second.url)
            three = await fetcher.fetch(first.url)
            return one, two, three

    one, two, three = asyncio.run(run())
    assert (one.data, two.data, three.data) == (photos["coffee"], photos["china"], photos["coffee"])
    assert client.logins == 3
    client.close()


@pytest.mark.both_lemmys
def test_the_login_never_reaches_the_delete_route(fake_lemmy, photos):
    # 0.19's GET /pictrs/image/delete/{token}/{alias} deletes the image for a
    # logged-in admin: a link to it in content is no image route of modbot's login
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    client = client_for(lemmy)
    delete = f"{lemmy.url}/pictrs/image/delete/{upload.delete_token}/{upload.alias}"
    got = fetch_with_login(lemmy, client, upload.url, delete)
    assert got[0].data == photos["coffee"]  # the instance has asked for the login
    assert isinstance(got[1], BadStatus)  # 401 (0.19, no login sent) or 404 (1.0)
    assert lemmy.image_exists(upload.alias)
    (asked,) = [r for r in lemmy.requests if r.path.startswith("/pictrs/image/delete/")]
    assert asked.credentials == ()
    client.close()


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_the_login_never_crosses_a_redirect(fake_lemmy, photos):
    # 1.0's image proxy redirects to the original on a domain in
    # image_proxy_bypass_domains, after asking a private instance's visitor to log in
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    original = lemmy.add_remote_file("there.jpg", photos["china"])
    post = lemmy.add_post(cast.pics, cast.bob, name="there", url=original)
    proxied = lemmy.post(post.id).url
    assert proxied.startswith(f"{lemmy.url}/api/v4/image/proxy?")
    lemmy.state.site.image_proxy_bypass_domains = ["127.0.0.1"]
    client = client_for(lemmy)

    (got,) = fetch_with_login(lemmy, client, proxied)

    assert got.data == photos["china"]
    asked = [
        (r.server, r.path, r.status, r.credentials)
        for r in lemmy.requests
        if r.path in ("/api/v4/image/proxy", "/there.jpg")
    ]
    assert asked == [
        ("lemmy", "/api/v4/image/proxy", 401, ()),
        ("lemmy", "/api/v4/image/proxy", 307, ("cookie",)),
        ("remote", "/there.jpg", 200, ()),
    ]
    client.close()


@pytest.mark.both_lemmys
def test_the_image_check_reads_a_private_instances_image_route_with_the_login(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    make_private(lemmy)
    upload = lemmy.add_upload(cast.alice, photos["coffee"])
    client = client_for(lemmy)  # no PICTRS_URL: the check reads Lemmy's image route

    # before: "image check of ...: HTTP 401", never an answer
    assert client.image_gone(upload.alias) is False
    lemmy.purge_alias(upload.alias)
    assert client.image_gone(upload.alias) is True
    checks = [r for r in lemmy.requests if r.path.endswith(upload.alias)]
    assert [(r.status, r.user) for r in checks] == [
        (401, None),
        (200, cast.bot.name),
        (401, None),
        (404, cast.bot.name),
    ]
    client.close()
