"""The decode's cost is estimated from the file's headers in the decoding process, not
in the engine's own: Pillow's header parsers (Python, holding the GIL) were half of
what each image cost that process. The cost is still held in the caller's budget before
anything is decoded, and a header that crashes its parser kills a decoding process, not
the bot."""

import sys

import pytest

from classifier import decode_processes
from classifier.budget import DecodeBudget, estimate
from classifier.decode_processes import DIED, ProcessDecoder
from classifier.preprocess import PreprocessConfig, Unreadable
from tests.test_s25_decode_processes import photo

CFG = PreprocessConfig(size=224)


def test_the_engines_process_parses_no_header(monkeypatch):
    data = photo(7, (900, 700))

    def not_here(*args, **kwargs):
        raise AssertionError("the headers were parsed in the engine's process")

    with ProcessDecoder(1) as decoder:
        monkeypatch.setattr(decode_processes, "estimate", not_here)
        budget = DecodeBudget(1_000_000_000)
        decoded = decoder.decode(data, CFG, budget=budget)
    assert decoded.regions and decoded.regions[0].shape == (224, 224, 3)
    assert budget.peak == estimate(data, CFG)  # held here, as a decode thread holds it
    assert budget.in_use == 0


def test_a_cost_over_the_budget_is_refused_before_anything_is_decoded():
    data = photo(8, (2000, 1500))
    budget = DecodeBudget(10_000_000)
    assert estimate(data, CFG) > 10_000_000
    with ProcessDecoder(1) as decoder, pytest.raises(Unreadable) as refused:
        decoder.decode(data, CFG, budget=budget)
    assert "memory" in refused.value.reason
    assert budget.in_use == 0


class HeaderCrash(ProcessDecoder):
    """Its processes die parsing the headers of a file that ends with CRASH."""

    def _command(self, pixels_fd):
        code = (
            "import os\n"
            "from classifier import decode_processes as d\n"
            "real = d._estimate\n"
            "def crashing(data, cfg):\n"
            "    if data.endswith(b'crash-the-header-parser'):\n"
            "        os._exit(1)\n"
            "    return real(data, cfg)\n"
            "d._estimate = crashing\n"
            f"d.serve(d._decode, {pixels_fd})\n"
        )
        return [sys.executable, "-c", code]


def test_a_header_that_crashes_its_parser_kills_a_process_not_the_engine():
    with HeaderCrash(1) as decoder:
        crash = photo(9, (600, 400)) + b"crash-the-header-parser"
        with pytest.raises(Unreadable) as refused:
            decoder.decode(crash, CFG, budget=DecodeBudget(1_000_000_000))
        assert refused.value.reason == DIED
        assert decoder.restarts == 2
        assert decoder.decode(photo(10, (600, 400)), CFG).regions  # the next one decodes


def test_the_old_way_estimates_here_for_benchmarks(monkeypatch):
    called = []
    real = decode_processes.estimate
    monkeypatch.setattr(decode_processes, "estimate", lambda *a: called.append(1) or real(*a))
    with ProcessDecoder(1, estimate_here=True) as decoder:
        assert decoder.decode(photo(11, (600, 400)), CFG, budget=DecodeBudget()).regions
    assert called == [1]
