"""A decoding process stuck on an image (a decoder's endless loop on hostile bytes) is
stopped after ``decode_timeout`` and replaced: the image is tried once more in a fresh
process, then called unreadable, saying why; the other images go on, and closing the
engine does not wait for ever. Before, the decode thread waited on the process for ever:
the image's caller never got an answer, its decode budget was never given back, and
``Engine.close()`` (the bot's shutdown) hung."""

import io
import sys
import threading

import pytest
from PIL import Image

from classifier import Engine, load_model
from classifier.budget import DecodeBudget
from classifier.decode_processes import ProcessDecoder
from classifier.preprocess import PreprocessConfig, Unreadable
from classifier.tiny import tiny_spec

CFG = PreprocessConfig(size=64)
MARK = b"hang-here"


def _photo(colour=(10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(out, "JPEG")
    return out.getvalue()


STUCK = _photo((200, 10, 10)) + MARK  # decodes, but the processes below never finish it


class HangingDecoder(ProcessDecoder):
    """Its processes never answer for an image ending in MARK (a decoder in an endless
    loop), whether estimating its cost or decoding it."""

    def _command(self, pixels_fd):
        code = (
            "import time\n"
            "import classifier.decode_processes as dp\n"
            "def hang(data):\n"
            f"    if data.endswith({MARK!r}):\n"
            "        while True:\n"
            "            time.sleep(60)\n"
            "estimate = dp._estimate\n"
            "def checked(data, cfg):\n"
            "    hang(data)\n"
            "    return estimate(data, cfg)\n"
            "dp._estimate = checked\n"
            "def work(data, *rest):\n"
            "    hang(data)\n"
            "    return dp._decode(data, *rest)\n"
            f"dp.serve(work, {pixels_fd})\n"
        )
        return [sys.executable, "-c", code]


def _in_thread(call, timeout: float = 60) -> object:
    """``call()``'s result or exception; fails the test if it waits for ever."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(call())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert out, "waited for ever on a decoding process that never answers"
    return out[0]


def test_a_stuck_decode_is_stopped_and_the_image_called_unreadable():
    with HangingDecoder(1, decode_timeout=1.0) as decoder:
        budget = DecodeBudget(1_000_000_000)
        assert decoder.decode(_photo(), CFG, budget=budget).regions  # the process is up
        first = decoder.pids()
        result = _in_thread(lambda: decoder.decode(STUCK, CFG, budget=budget))
        assert isinstance(result, Unreadable), result
        assert "did not finish within 1 s" in result.reason, result.reason
        assert "twice" in result.reason
        # both stuck processes were stopped and replaced; the budget is free again
        assert decoder.restarts == 2
        assert len(decoder.pids()) == 1 and not set(decoder.pids()) & set(first)
        assert budget.in_use == 0
        # and the next image is decoded
        assert decoder.decode(_photo(), CFG, budget=budget).regions


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return load_model(tiny_spec(tiny_checkpoint))


def test_the_engines_caller_gets_an_unreadable_verdict_and_close_returns(loaded, tmp_path):
    decoder = HangingDecoder(1, decode_timeout=1.0)
    try:
        engine = Engine(loaded, decode_processes=decoder, text_cache_dir=tmp_path)
        verdicts = _in_thread(lambda: engine.classify_many([STUCK, _photo()]))
        assert not isinstance(verdicts, Exception), verdicts
        stuck, fine = verdicts
        assert stuck.unreadable and "did not finish within 1 s" in stuck.unreadable
        assert not stuck.labels and stuck.regions == 0
        assert fine.unreadable is None and fine.regions >= 1
        assert engine.decode_budget.in_use == 0
        assert _in_thread(engine.close) is None
    finally:
        decoder.close()
