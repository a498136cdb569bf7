"""Cloaking: a host that serves bots an HTML page and browsers the real image. Through
`python -m modbot run --once`: by default (`fetch.user_agent: browser`) the bot asks
other hosts as a browser does, so the image is classified and the rule acts on it; the
instance's own hosts still see modbot's User-Agent; `user_agent: modbot` and a custom
User-Agent are sent as configured."""

from __future__ import annotations

from support.bot import Bot, remote_photo
from support.check_rules import check, write
from support.policies import write_rules


def remote_requests(lemmy, path):
    return [r for r in lemmy.requests if r.server == "remote" and r.path == path]


def test_a_cloaked_image_is_fetched_as_a_browser_and_acted_on(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    cloaked = lemmy.add_cloaking_file("cloaked.jpg", photos[tiny.flagged])
    post = lemmy.add_post(cast.pics, cast.bob, name="nothing to see", url=cloaked)
    upload = lemmy.add_upload(cast.alice, photos[tiny.others[0]])
    local = lemmy.add_post(cast.pics, cast.alice, name="local", url=upload.url)
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))

    bot("run", "--once")

    (record,) = [d for d in bot.decisions() if d["item"]["id"] == post.id]
    assert record["skipped"] is None and "probe" in record["labels"]
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", post.id)]
    (asked,) = remote_requests(lemmy, "/cloaked.jpg")
    assert asked.user_agent.startswith("Mozilla/5.0 (") and "modbot" not in asked.user_agent
    # the instance's own pict-rs image is asked for as modbot
    own = [r for r in lemmy.requests if r.path.endswith(upload.alias)]
    assert own and all(r.user_agent.startswith("modbot/") for r in own)
    checked = {d["item"]["id"] for d in bot.decisions() if d["item"]["kind"] == "post"}
    assert checked == {post.id, local.id} and not any(d["skipped"] for d in bot.decisions())


def test_user_agent_modbot_is_shown_the_decoy_and_a_custom_one_is_sent(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    cloaked = lemmy.add_cloaking_file("cloaked.jpg", photos[tiny.flagged])
    post = lemmy.add_post(cast.pics, cast.bob, name="nothing to see", url=cloaked)
    plain = remote_photo(lemmy, photos, tiny.others[0])
    lemmy.add_post(cast.pics, cast.bob, name="plain", url=plain)
    rules = write_rules(tmp_path, lemmy, tiny, fetch=", user_agent: modbot")
    bot = Bot(lemmy, tmp_path, rules)

    bot("run", "--once")

    (record,) = [d for d in bot.decisions() if d["item"]["id"] == post.id]
    assert record["skipped"] == "not_an_image" and lemmy.reports == []
    (asked,) = remote_requests(lemmy, "/cloaked.jpg")
    assert asked.user_agent.startswith("modbot/")

    custom = tmp_path / "custom"
    custom.mkdir()
    rules = write_rules(custom, lemmy, tiny, fetch=', user_agent: "ExampleReader/2.1"')
    Bot(lemmy, custom, rules)("sweep", "--since", "1d")
    assert {r.user_agent for r in remote_requests(lemmy, f"/{tiny.others[0]}.jpg")} == {
        "modbot/" + asked.user_agent.split("/", 1)[1],
        "ExampleReader/2.1",
    }


def test_a_user_agent_that_is_not_one_line_is_refused_with_file_and_line(tmp_path):
    write(tmp_path, 'fetch:\n  max_bytes: 5MB\n  user_agent: "Reader\\r\\nX-Evil: 1"\nrules: []\n')
    rc, out = check(tmp_path)
    assert rc == 1
    assert out[0] == (
        "rules.yaml:3: fetch.user_agent: use browser (the default: images on other hosts are "
        "asked for as a browser does), modbot (modbot's own User-Agent everywhere), or a "
        "User-Agent in quotes (printable ASCII on one line, at most 300 characters)"
    )


def test_each_hop_of_a_redirect_is_asked_as_its_host_should_see_it(fake_lemmy, photos):
    import asyncio

    from modbot.fetch import Fetcher, Identity

    lemmy = fake_lemmy
    upload = lemmy.add_upload(lemmy.cast.alice, photos["coffee"])
    hop = lemmy.add_remote_behaviour("/to-the-instance.jpg", redirect_to=upload.url)
    hosts = [u.split("//", 1)[1] for u in (lemmy.url, lemmy.remote_url)]

    async def fetch():
        identity = Identity("browser", own_urls=[lemmy.url])
        async with Fetcher(allowed_hosts=hosts, identity=identity) as fetcher:
            return await fetcher.fetch(hop)

    assert asyncio.run(fetch()).data == photos["coffee"]
    first, second = [r for r in lemmy.requests if r.server in ("remote", "lemmy")][-2:]
    assert first.path == "/to-the-instance.jpg" and first.user_agent.startswith("Mozilla/")
    assert second.path.endswith(upload.alias) and second.user_agent.startswith("modbot/")
