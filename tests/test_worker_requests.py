"""The worker's answers to clients that do not send their body as they should: one that
goes away in the middle of it, one that stops sending. Driven in-process (ASGI)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from classifier import load_model
from classifier.service import WorkerConfig, WorkerService
from classifier.tiny import tiny_spec


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("text-cache")


def _scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/v1/classify",
        "headers": headers,
        "query_string": b"",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("w", 80),
        "client": ("127.0.0.1", 5),
        "root_path": "",
    }


async def _call(service: WorkerService, messages: list, headers=()) -> list[dict]:
    """The app's answer to a request whose body arrives as ``messages`` (after the last,
    the client sends nothing more)."""
    sent: list[dict] = []
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # a client that sends nothing more

    async def send(message):
        sent.append(message)

    await service.app(_scope(list(headers)), receive, send)
    return sent


def test_a_client_gone_in_the_middle_of_its_body_is_counted_not_a_traceback(
    loaded, text_cache, caplog
):
    service = WorkerService(loaded, WorkerConfig(max_body=1000, text_cache_dir=text_cache))
    caplog.set_level(logging.DEBUG)
    try:
        asyncio.run(
            _call(
                service,
                [
                    {"type": "http.request", "body": b"\0" * 100, "more_body": True},
                    {"type": "http.disconnect"},
                ],
                [(b"content-length", b"1000")],
            )
        )
    finally:
        service.close()
    assert service.counters["disconnected"] == 1
    assert service.pending == 0 and service.bytes_held.in_use == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_body_that_stops_coming_is_408_and_frees_its_slot(loaded, text_cache):
    config = WorkerConfig(max_body=1000, body_idle_timeout=0.2, text_cache_dir=text_cache)
    service = WorkerService(loaded, config)
    try:
        sent = asyncio.run(
            asyncio.wait_for(
                _call(
                    service,
                    [{"type": "http.request", "body": b"\0" * 100, "more_body": True}],
                    [(b"content-length", b"1000")],
                ),
                10,
            )
        )
    finally:
        service.close()
    assert sent[0]["status"] == 408
    assert b"0.2 s" in sent[1]["body"]
    assert service.counters["timed_out"] == 1
    assert service.pending == 0 and service.bytes_held.in_use == 0


def test_worker_help_says_the_body_idle_timeout():
    from classifier.service import BODY_IDLE_TIMEOUT
    from modbot.cli.worker import HELP

    assert f"408 a body that stops coming for {BODY_IDLE_TIMEOUT:g} s" in HELP.replace("\n", " ")


def test_a_body_that_trickles_in_is_408_once_the_whole_bodys_time_is_up(loaded, text_cache):
    # a byte now and then, never idle as long as the idle timeout: the whole body's
    # deadline still ends it
    config = WorkerConfig(
        max_body=1000, body_idle_timeout=0.3, body_timeout=0.6, text_cache_dir=text_cache
    )
    service = WorkerService(loaded, config)
    sent: list[dict] = []

    async def receive():
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"\0", "more_body": True}

    async def send(message):
        sent.append(message)

    scope = _scope([(b"content-length", b"1000")])
    try:
        asyncio.run(asyncio.wait_for(service.app(scope, receive, send), 10))
    finally:
        service.close()
    assert sent[0]["status"] == 408
    assert b"longer than 0.6 s" in sent[1]["body"]
    assert service.counters["timed_out"] == 1
    assert service.pending == 0 and service.bytes_held.in_use == 0


def test_worker_help_says_the_whole_bodys_timeout():
    from classifier.service import BODY_TIMEOUT
    from modbot.cli.worker import HELP

    assert f"takes over {BODY_TIMEOUT:g} s in all" in HELP.replace("\n", " ")


def test_a_503_does_not_count_against_the_clients_quota(loaded, text_cache):
    import hashlib

    import httpx

    from classifier.service import Client

    token = "quota-token-0123456789abcdef"
    bob = Client("bob", hashlib.sha256(token.encode()).digest(), 2)  # 2 images a minute
    config = WorkerConfig(clients=[bob], max_body=1000, text_cache_dir=text_cache)
    service = WorkerService(loaded, config)

    async def main():
        transport = httpx.ASGITransport(app=service.app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
            service.pending = config.max_pending  # the worker is busy
            busy = [(await c.post("/v1/classify", content=b"x", headers=headers)) for _ in "ab"]
            service.pending = 0
            served = await c.post("/v1/classify", content=b"x", headers=headers)
            return busy, served

    try:
        busy, served = asyncio.run(main())
    finally:
        service.close()
    assert [a.status_code for a in busy] == [503, 503]
    assert served.status_code == 200, served.text


@pytest.mark.parametrize("wait", ["-5", "nan", "inf", "1e9", "soon"])
def test_worker_command_refuses_a_max_wait_that_is_no_wait(wait, capsys):
    """Refused on the command line, not by a traceback once the model has loaded (or,
    nan and inf, by an inference thread that dies at its first batch)."""
    from modbot.cli import build_parser

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["worker", "--no-auth", f"--max-wait-ms={wait}"])
    assert stopped.value.code == 2
    assert "milliseconds, from 0 to 60000" in capsys.readouterr().err


def test_worker_command_takes_a_max_wait():
    from modbot.cli import build_parser

    args = build_parser().parse_args(["worker", "--no-auth", "--max-wait-ms", "0"])
    assert args.max_wait_ms == 0.0
    assert build_parser().parse_args(["worker", "--no-auth"]).max_wait_ms == 10


def test_worker_command_says_a_concepts_file_nested_too_deep_is_not_json(tmp_path, capsys):
    from modbot.cli import main

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    assert main(["worker", "--no-auth", "--concepts", f"x={deep}"]) == 2  # no model loaded
    assert f"--concepts x: {deep} is not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize(
    "line",
    [
        "mbw_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5 alice 600",  # name and token swapped
        "Zm9vYmFy+YmF6cXV4cXV1eGNv/cmdl= alice 600",  # a base64 token where the name goes
        "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0 sha256:" + "ab" * 32 + " 600\n"
        "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0 sha256:" + "cd" * 32 + " 600",  # twice
    ],
)
def test_a_tokens_file_error_never_repeats_a_token_written_as_the_name(line):
    from classifier.service import TokenError, parse_tokens

    secret = line.split()[0]
    with pytest.raises(TokenError) as refused:
        parse_tokens(line, "tokens")
    assert secret not in str(refused.value)
    assert str(refused.value).startswith("tokens:")


def test_a_tokens_file_error_names_a_short_client_name():
    from classifier.service import TokenError, parse_tokens

    with pytest.raises(TokenError, match="client name 'bad/name'"):
        parse_tokens("bad/name 0123456789abcdefgh 4", "tokens")
    with pytest.raises(TokenError, match="tokens:2: the client name 'x' appears twice"):
        parse_tokens("x 0123456789abcdefgh 4\nx 0123456789abcdefgi 5", "tokens")


def test_a_tokens_file_error_never_repeats_a_token_written_as_the_quota():
    from classifier.service import TokenError, parse_tokens

    secret = "mbw_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
    with pytest.raises(TokenError, match=r"the quota \(the third field\)") as refused:
        parse_tokens(f"alice sha256:{'ab' * 32} {secret}", "tokens")
    assert secret not in str(refused.value)
    with pytest.raises(TokenError, match="the quota '0'"):
        parse_tokens(f"alice sha256:{'ab' * 32} 0", "tokens")


def test_concept_sets_sent_by_clients_do_not_fill_the_disk(loaded, tmp_path):
    """Each set a client sends has its text embeddings written; they went to the
    worker's text cache and stayed there, one file per set ever sent, however few
    sets are kept (a client sending a new set with each image filled the disk)."""
    import json
    import os

    import httpx

    cache = tmp_path / "text-cache"
    config = WorkerConfig(max_body=1000, max_concept_sets=2, text_cache_dir=cache)
    service = WorkerService(loaded, config)
    before = set(os.listdir(cache))

    async def main():
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as c:
            for n in range(5):
                sent = {"probe": {"prompts": [f"a photo of {n} cats"], "threshold": 0.2}}
                answer = await c.post(
                    "/v1/classify", content=b"x", headers={"X-Modbot-Concepts": json.dumps(sent)}
                )
                assert answer.status_code == 200, answer.text

    sent_dir = service.sets.sent_dir
    try:
        asyncio.run(main())
        assert set(os.listdir(cache)) == before, "the shared text cache is not written"
        assert len(os.listdir(sent_dir)) == len(service.sets.sent) == 2, "one file a set kept"
    finally:
        service.close()
    assert not os.path.exists(sent_dir)
