"""Hosts the bot may fetch images from although they are private: the instance's own
(LEMMY_URL, its public URL; never PICTRS_URL) and `fetch.allow_hosts`, each on its URL's port
only (the scheme's default when none is written), never on every port of the host.

The fake Lemmy, its pict-rs and its remote web host all listen on 127.0.0.1, each on a
port of its own: an image on the remote host is an image on another port of the Lemmy
host, at a private address.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from support.bot import Bot

from modbot.config.settings import Secret, Settings
from modbot.fetch import Fetcher, PrivateAddress, system_resolver
from modbot.lemmy import LemmyClient


def write_rules(directory, checkpoint, allow_hosts: list[str]):
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true}}
fetch: {{allow_hosts: {allow_hosts!r}}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
rules:
  - name: look
    if: {{labels: [nsfw]}}
    then: {{report: "look"}}
""")
    return path


def remote_requests(lemmy) -> list[str]:
    return [r.path for r in lemmy.requests if r.server == "remote"]


def records_by_post(bot) -> dict[int, dict]:
    return {r["item"]["id"]: r for r in bot.decisions() if r["item"]["kind"] == "post"}


def test_a_pictrs_url_without_a_port_allows_its_default_port_only(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, url=lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    )
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, tiny_checkpoint, []), strict=True)
    bot.env["PICTRS_URL"] = "http://127.0.0.1"  # port 80, not the remote host's port
    bot("run", "--once", "--dry-run")
    record = records_by_post(bot)[post.id]
    assert record["skipped"] == "private_address", record
    assert "resolves to non-public address 127.0.0.1" in record["skipped_detail"]
    assert remote_requests(lemmy) == [], "the remote host was never contacted"


@pytest.mark.slow
def test_an_allowed_host_without_a_port_is_allowed_on_80_and_443_and_host_star_on_all(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    cat = lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    first = lemmy.add_post(cast.pics, cast.bob, url=cat)
    bot = Bot(
        lemmy,
        tmp_path,
        write_rules(tmp_path, tiny_checkpoint, ["127.0.0.1", "http://127.0.0.1/"]),
        strict=True,
    )
    bot("run", "--once", "--dry-run")
    assert records_by_post(bot)[first.id]["skipped"] == "private_address"
    assert remote_requests(lemmy) == []

    # `host:*` is the one way to allow every port of a host
    second = lemmy.add_post(cast.pics, cast.bob, url=cat)
    write_rules(tmp_path, tiny_checkpoint, ["127.0.0.1:*"])
    bot("run", "--once", "--dry-run")
    record = records_by_post(bot)[second.id]
    assert record["skipped"] is None and record["image"]["sha256"]
    assert remote_requests(lemmy) == ["/cat.jpg"]


def test_check_rules_refuses_an_allowed_host_it_cannot_read(tmp_path, tiny_checkpoint):
    rules = write_rules(tmp_path, tiny_checkpoint, ["cdn.internal:*", "ftp://files.internal"])
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        f"{rules}:4: fetch.allow_hosts: allowed host 'ftp://files.internal': only "
        "http and https URLs"
    ) in done.stdout + done.stderr


def test_a_lemmy_url_without_a_port_allows_that_port_only(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    """LEMMY_URL=http://lemmy (as the compose file writes it) trusts lemmy:80, not every
    port of the host `lemmy`. In-process: `lemmy` resolves to the fake's address, and the
    client talks to the fake where it really listens."""
    from modbot.config.policy import load_policy
    from modbot.pipeline import Pipeline

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    remote_port = lemmy.remote_url.rsplit(":", 1)[1]
    lemmy.add_remote_file("cat.jpg", photos["chelsea"])
    post = lemmy.add_post(cast.pics, cast.bob, url=f"http://lemmy:{remote_port}/cat.jpg")

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "lemmy" else await system_resolver(host, port)

    policy = load_policy(write_rules(tmp_path, tiny_checkpoint, []))
    settings = Settings(
        "http://lemmy", "modbot", Secret("pw"), state_path=tmp_path / "state.sqlite3"
    )
    client = LemmyClient(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, read_only=True)
    with Pipeline(
        settings, policy, dry_run=True, client=client, fetch_resolver=resolver
    ) as pipeline:
        stats = pipeline.poll_once(deep=True)
        records = {r["item"]["id"]: r for r in pipeline.store.decisions()}
    assert stats.skipped["private_address"] == 1
    assert records[post.id]["skipped"] == "private_address"
    assert remote_requests(lemmy) == []


def test_fetcher_host_entries():
    async def refused(allowed: list[str], url: str) -> bool:
        async with Fetcher(allowed_hosts=allowed) as fetcher:
            try:
                await fetcher.fetch(url)
            except PrivateAddress:
                return True
            except Exception:  # allowed: it tried to connect
                return False
        return False

    # nothing listens there (not the discard port 9: browsers refuse that one, and so
    # does the fetcher unless that very port is allowed: test_s30d_bad_ports)
    closed = "http://127.0.0.1:47/x.jpg"
    assert asyncio.run(refused(["127.0.0.1"], closed))
    assert asyncio.run(refused(["http://127.0.0.1"], closed))
    assert asyncio.run(refused(["127.0.0.1:8"], closed))
    assert not asyncio.run(refused(["127.0.0.1:47"], closed))
    assert not asyncio.run(refused(["127.0.0.1:*"], closed))
    assert not asyncio.run(refused(["http://127.0.0.1:47/"], closed))
    assert not asyncio.run(refused(["127.0.0.1"], "http://127.0.0.1/x.jpg"))
    for bad in ("lemmy:99999", ":8080", "", "lemmy:80:*", "ftp://lemmy", "::1"):
        with pytest.raises(ValueError, match="allowed host"):
            Fetcher(allowed_hosts=[bad])
