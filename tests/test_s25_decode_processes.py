"""Decoding in processes (classifier.decode_processes, ``classifier.decode_processes``):
the same pixels, verdicts and refusals as decode threads, the same memory bound, and a
process that dies costs one retry, not the bot."""

import contextlib
import io
import os
import signal
import sys
import time

import numpy as np
import pytest
from PIL import Image

from classifier import ConceptSet, Engine, load_model
from classifier.budget import DecodeBudget, estimate
from classifier.decode_processes import DIED, SHARED_SIZE, ProcessDecoder
from classifier.preprocess import PreprocessConfig, Unreadable, decode_image
from classifier.tiny import tiny_spec, write_random_checkpoint
from fakelemmy import hostile


def photo(seed: int, size=(1200, 900)) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(small).resize(size, Image.BILINEAR).save(out, "JPEG", quality=85)
    return out.getvalue()


def rgba_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (200, 10, 10, 90)).save(out, "PNG")
    return out.getvalue()


# a photo with a mark after its end: decodes, but the crashing decoder below dies on it
CRASH = photo(99) + b"crash-this-process"

CORPUS = {
    "photo": photo(1),
    "wide photo": photo(2, (2400, 600)),
    "small photo": photo(3, (200, 150)),
    "png with alpha": rgba_png(),
    "animated gif": hostile.animated_gif(),
    "animated webp": hostile.animated_webp(),
    "truncated jpeg": hostile.truncated_jpeg(photo(4)),
    "png bomb": hostile.png_bomb(),
    "html page": hostile.html_page(),
    "svg": hostile.svg(),
    "zero bytes": hostile.zero_byte(),
    "16-bit png": hostile.png_16bit(2000, 2000),
    "gif with a huge second frame": hostile.gif_huge_second_frame(),
}


class CrashingDecoder(ProcessDecoder):
    """Its processes die on CRASH, as one would on bytes that crash an image library."""

    def _command(self, pixels_fd):
        code = (
            "import os\n"
            "from classifier.decode_processes import _decode, serve\n"
            "def work(data, *rest):\n"
            "    if data.endswith(b'crash-this-process'):\n"
            "        os._exit(1)\n"
            "    return _decode(data, *rest)\n"
            f"serve(work, {pixels_fd})\n"
        )
        return [sys.executable, "-c", code]


@pytest.fixture(scope="module")
def decoder():
    with ProcessDecoder(2) as d:
        yield d


def _outcome(decode, *args, **kwargs):
    try:
        decoded = decode(*args, **kwargs)
    except Unreadable as exc:
        return ("unreadable", exc.reason)
    deferred = decoded.deferred
    return (
        [r.tobytes() for r in decoded.regions],
        None if decoded.source is None else decoded.source.tobytes(),
        None if deferred is None else (deferred.pixels.tobytes(), deferred.steps),
    )


@pytest.mark.parametrize("defer", [False, True], ids=["host", "deferred"])
@pytest.mark.parametrize("budget_bytes", [1_000_000_000, 60_000_000], ids=["1GB", "60MB"])
def test_processes_give_the_threads_pixels_and_refusals(decoder, defer, budget_bytes):
    cfg = PreprocessConfig(size=64)
    for name, data in CORPUS.items():
        options = dict(keep_source=True, defer=defer)
        here = _outcome(decode_image, data, cfg, budget=DecodeBudget(budget_bytes), **options)
        budget = DecodeBudget(budget_bytes)
        there = _outcome(decoder.decode, data, cfg, budget=budget, **options)
        assert there == here, name
        assert budget.in_use == 0, name  # held while decoding, given back after
    # the corpus holds each kind: decoded, refused for its cost, refused for what it is
    outcomes = [
        _outcome(decode_image, d, cfg, budget=DecodeBudget(budget_bytes)) for d in CORPUS.values()
    ]
    assert any(o[0] != "unreadable" for o in outcomes)
    assert any(o[0] == "unreadable" and "not an image" in o[1] for o in outcomes)


def test_the_decode_is_held_in_the_callers_budget_while_it_runs(decoder):
    data, cfg = photo(5, (4000, 3000)), PreprocessConfig(size=64)
    budget = DecodeBudget(1_000_000_000)
    decoder.decode(data, cfg, budget=budget)
    assert budget.peak == estimate(data, cfg) > 4000 * 3000 * 3  # what a thread holds
    assert budget.in_use == 0


def test_a_process_that_died_is_replaced_and_the_image_decoded_again():
    with ProcessDecoder(1) as decoder:
        cfg = PreprocessConfig(size=64)
        decoder.decode(photo(6), cfg)  # the process is up
        old = decoder.pids()
        os.kill(old[0], signal.SIGKILL)
        time.sleep(0.5)
        decoded = decoder.decode(photo(6), cfg)
        assert [r.tobytes() for r in decoded.regions] == [
            r.tobytes() for r in decode_image(photo(6), cfg).regions
        ]
        assert decoder.restarts == 1
        assert not set(decoder.pids()) & set(old)


def test_an_image_that_kills_its_process_twice_is_unreadable_and_the_rest_go_on():
    with CrashingDecoder(2) as decoder:
        cfg = PreprocessConfig(size=64)
        with pytest.raises(Unreadable) as caught:
            decoder.decode(CRASH, cfg)
        assert caught.value.reason == DIED
        assert decoder.restarts == 2
        assert decoder.decode(photo(7), cfg).regions


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    return load_model(tiny_spec(write_random_checkpoint(path, seed=0)))


def test_an_engine_decoding_in_processes_gives_the_same_verdicts(loaded, tmp_path):
    datas = list(CORPUS.values())
    common = dict(max_batch=1, text_cache_dir=tmp_path, decode_memory=200_000_000)
    with Engine(loaded, ConceptSet.builtin(), **common) as engine:
        threads = engine.classify_many(datas)
    with Engine(loaded, ConceptSet.builtin(), decode_processes=2, **common) as engine:
        assert engine.decode_workers == 2
        pids = engine.decoder.pids()
        processes = engine.classify_many(datas)
    assert processes == threads
    assert any(v.unreadable for v in threads) and any(not v.unreadable for v in threads)
    # closing the engine stopped its processes
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_shares_one_set_of_processes_between_its_concept_sets(loaded, tmp_path):
    import asyncio

    import httpx

    from classifier.concepts import CustomConcept
    from classifier.service import CONCEPT_SET_HEADER, WorkerConfig, WorkerService

    named = {"gore": (CustomConcept("gore", ("a photo of gore",), 0.2),)}
    config = WorkerConfig(
        named_sets=named, decode_processes=2, max_wait_ms=5, text_cache_dir=tmp_path
    )
    service = WorkerService(loaded, config)
    try:
        pids = service.decoder.pids()
        assert len(pids) == 2
        assert {e.decoder for e in service.sets.engines()} == {service.decoder}

        async def ask():
            transport = httpx.ASGITransport(app=service.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://w") as client:
                plain = await client.post("/v1/classify", content=CORPUS["photo"])
                gore = await client.post(
                    "/v1/classify", content=CORPUS["photo"], headers={CONCEPT_SET_HEADER: "gore"}
                )
                return plain, gore

        plain, gore = asyncio.run(ask())
        assert plain.status_code == 200 and gore.status_code == 200, (plain.text, gore.text)
        assert plain.json()["sha256"] == gore.json()["sha256"]
        assert "gore" in gore.json()["scores"] and "gore" not in plain.json()["scores"]
    finally:
        service.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize(
    "value, words",
    [
        ("100", "got 100"),
        ("many", "got 'many'"),
        ("yes", "got true (YAML reads yes, no, on and off as true or false)"),
    ],
)
def test_check_rules_explains_a_wrong_decode_processes(tmp_path, capsys, value, words):
    from modbot.cli import main

    rules = tmp_path / "rules.yaml"
    rules.write_text(f"classifier:\n  decode_processes: {value}\nrules: []\n")
    assert main(["check-rules", str(rules)]) == 1
    err = capsys.readouterr()
    said = err.out + err.err
    assert (
        f"{rules}:2: classifier.decode_processes: expected auto, or a number of decoding "
        "processes from 0 to 64 (0: decode in threads), " + words
    ) in said


def test_check_rules_takes_auto_and_a_number(tmp_path, capsys):
    from modbot.cli import main

    for value in ("auto", "0", "16"):
        rules = tmp_path / "rules.yaml"
        rules.write_text(f"classifier:\n  decode_processes: {value}\nrules: []\n")
        assert main(["check-rules", str(rules)]) == 0, capsys.readouterr()


def test_the_worker_command_line_takes_decode_processes():
    import argparse

    from modbot.cli.worker import add_parser, worker_config

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["worker", "--decode-processes", "3", "--no-auth"])
    assert worker_config(args, {}, None).decode_processes == 3
    args = parser.parse_args(["worker", "--no-auth"])
    assert worker_config(args, {}, None).decode_processes is None  # auto
    with pytest.raises(SystemExit):
        parser.parse_args(["worker", "--decode-processes", "65", "--no-auth"])


def _pixel_memory(pid: int) -> list[int]:
    """The sizes of the memfds a process holds for decoded pixels (each once: an mmap
    keeps a second descriptor of its file)."""
    sizes = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{fd}"
        with contextlib.suppress(OSError):
            if os.readlink(path).startswith("/memfd:modbot-decoded-pixels"):
                info = os.stat(path)
                sizes[info.st_ino] = info.st_size
    return list(sizes.values())


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="no memfd here")
def test_a_large_images_pixels_come_through_shared_memory_which_then_shrinks(decoder):
    big = photo(8, (4000, 3000))  # deferred: 36 MB of drafted pixels, over SHARED_SIZE
    cfg = PreprocessConfig(size=64)
    decoded = decoder.decode(big, cfg, defer=True)
    assert decoded.deferred.pixels.nbytes > SHARED_SIZE
    assert (
        decoded.deferred.pixels.tobytes()
        == decode_image(big, cfg, defer=True).deferred.pixels.tobytes()
    )
    for pid in decoder.pids():
        assert _pixel_memory(pid) == [SHARED_SIZE]  # handed back, nothing held outside the budget


class CannotStart(ProcessDecoder):
    def _command(self, pixels_fd):
        return [sys.executable, "-c", "import sys; sys.exit(3)"]


def test_processes_that_cannot_start_stop_the_engine_at_once_saying_what_to_do(loaded, tmp_path):
    from classifier.decode_processes import DecoderUnavailable

    with pytest.raises(DecoderUnavailable) as caught:
        CannotStart(2)
    assert "exit status 3" in str(caught.value)
    assert "classifier.decode_processes: 0" in str(caught.value)


class BreaksLater(ProcessDecoder):
    """Its processes decode until a flag file appears, then die on every image, tiny
    ones too: the machine's fault (a memory limit), not the image's."""

    def __init__(self, flag, *args, **kwargs):
        self.flag = flag
        super().__init__(*args, **kwargs)

    def _command(self, pixels_fd):
        code = (
            "import os\n"
            "from classifier.decode_processes import _decode, serve\n"
            "def work(*args):\n"
            f"    if os.path.exists({str(self.flag)!r}):\n"
            "        os._exit(9)\n"
            "    return _decode(*args)\n"
            f"serve(work, {pixels_fd})\n"
        )
        return [sys.executable, "-c", code]


def test_processes_that_die_on_everything_skip_the_image_rather_than_call_it_unreadable(
    loaded, tmp_path
):
    from classifier.decode_processes import DecoderUnavailable

    flag = tmp_path / "broken"
    with (
        BreaksLater(flag, 1) as decoder,
        Engine(
            loaded, ConceptSet.builtin(), decode_processes=decoder, text_cache_dir=tmp_path
        ) as engine,
    ):
        assert not engine.classify_many([CORPUS["photo"]])[0].unreadable
        flag.touch()
        with pytest.raises(DecoderUnavailable, match="not this image's fault"):
            engine.classify_many([CORPUS["photo"]])
        flag.unlink()  # the machine recovers: the next images are decoded again
        assert not engine.classify_many([CORPUS["small photo"]])[0].unreadable
