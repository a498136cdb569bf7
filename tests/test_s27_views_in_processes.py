"""With ``views_in_processes`` each decoding process makes the reference's views of the
images it defers on the device itself (its own CUDA context on a GPU; here torch on
the CPU, the same integer arithmetic), so only the views come back to the engine's
process: its pixels and verdicts are the host's, bit for bit; a process that cannot use
the device hands the deferred pixels back and the engine makes the views, as before."""

import numpy as np
import pytest

from classifier import ConceptSet, Engine, load_model
from classifier.decode_processes import ProcessDecoder
from classifier.preprocess import PreprocessConfig, decode_image
from classifier.resample import _check_images
from classifier.tiny import tiny_spec
from tests.test_s25_decode_processes import photo

CFG = PreprocessConfig(size=224)
# each way the deferral takes: a JPEG not drafted, one drafted by 2, grey and RGB PNGs
FILES = [data for _, data in _check_images()]


def test_the_decoding_process_sends_back_the_hosts_view_and_thumbnail():
    with ProcessDecoder(1, view_device="cpu") as decoder:
        for data in FILES:
            assert decode_image(data, CFG, defer=True).deferred is not None
            host = decode_image(data, CFG, keep_source=True)
            got = decoder.decode(data, CFG, keep_source=True, defer=True)
            assert got.deferred is None  # made there: no full-size pixels came back
            assert len(got.regions) == 1
            assert np.array_equal(got.regions[0], host.regions[0])
            assert got.source is not None and host.source is not None
            assert got.source.shape == host.source.shape  # grey: RGB, as Pillow converts
            assert np.array_equal(got.source, host.source)
        # without keep_source, the view alone (the grey PNG: the cheapest to make again)
        without = decoder.decode(FILES[2], CFG, defer=True)
        assert without.source is None and without.deferred is None
        assert np.array_equal(without.regions[0], decode_image(FILES[2], CFG).regions[0])


def test_without_a_view_device_the_pixels_come_back_deferred():
    with ProcessDecoder(1) as decoder:
        got = decoder.decode(FILES[0], CFG, defer=True)
    assert got.deferred is not None and got.regions == []


def test_a_process_that_cannot_use_the_device_hands_the_pixels_back(capfd):
    # this machine's torch has no CUDA: as a GPU's process whose context fails
    with ProcessDecoder(1, view_device="cuda") as decoder:
        first = decoder.decode(FILES[0], CFG, defer=True)
        second = decoder.decode(FILES[1], CFG, defer=True)
    assert first.deferred is not None and second.deferred is not None
    said = capfd.readouterr().err
    assert said.count("cannot make the reference's views on cuda") == 1  # once, not per image
    assert "the engine makes them" in said


IMAGES = [photo(40 + k, size) for k, size in enumerate([(800, 600), (700, 900)])]


def engine_verdicts(tiny_checkpoint, tmp_path, **options):
    with Engine(
        load_model(tiny_spec(tiny_checkpoint)),
        ConceptSet.builtin(),
        max_batch=4,
        text_cache_dir=tmp_path,
        decode_processes=1,
        **options,
    ) as engine:
        got = engine.classify_many(IMAGES)
        return [(v.sha256, v.regions, v.scores, v.prompt_scores) for v in got], dict(engine.stats)


@pytest.mark.slow
def test_the_engine_gives_the_same_verdicts_with_views_made_in_its_processes(
    tiny_checkpoint, tmp_path
):
    host, _ = engine_verdicts(tiny_checkpoint, tmp_path / "host", resample_on_device=False)
    got, stats = engine_verdicts(
        tiny_checkpoint, tmp_path / "procs", resample_on_device=True, views_in_processes=True
    )
    assert got == host
    assert stats["resampled_on_device"] == 0  # none made by this process
    assert stats["images"] == len(IMAGES)


def test_check_rules_says_the_setting_is_the_workers_with_a_remote_classifier(tmp_path, capsys):
    from modbot.cli import main

    (tmp_path / "rules.yaml").write_text(
        "classifier:\n"
        "  remote: https://gpu.example.org:8095\n"
        "  views_in_processes: true\n"
        "rules: []\n"
    )
    assert main(["check-rules", str(tmp_path / "rules.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning: classifier.views_in_processes: not used with classifier.remote" in out
