"""A worker's verdict on a file whose later frame is a bomb (4cec26e: its first frame
classified alone, a label it fires standing beside `unreadable`) was refused by the bot
as "an unreadable image's verdict with labels or scores": the worker backed off as
failing, the image skipped and asked again each cycle, never acted on nor reported.
Taken now, checked as any verdict with labels; an unreadable one with scores and no
label is still refused."""

from __future__ import annotations

import dataclasses

import pytest
from support.worker import TOKEN
from test_s34d2_later_frame_bomb import bomb_gif

from classifier.concepts import CustomConcept
from classifier.engine import FIRST_FRAME_ONLY
from classifier.remote import RemoteEngine, check_verdict


def test_a_workers_first_frame_verdict_is_taken(worker) -> None:
    probe = CustomConcept("probe", ("a photo of a cat",), -1.0)  # always fires
    with RemoteEngine([worker.url], TOKEN, custom=[probe], allow_random_weights=True) as engine:
        (verdict,) = engine.classify_many([bomb_gif()])
        (again,) = engine.classify_many([bomb_gif()])
    assert "probe" in verdict.labels and verdict.scores["probe"] > 0
    assert verdict.unreadable and FIRST_FRAME_ONLY in verdict.unreadable
    assert again.labels == verdict.labels  # the worker was not backed off as failing


def test_an_unreadable_verdict_with_scores_and_no_label_is_refused(worker) -> None:
    probe = CustomConcept("probe", ("a photo of a cat",), -1.0)
    with RemoteEngine([worker.url], TOKEN, custom=[probe], allow_random_weights=True) as engine:
        (verdict,) = engine.classify_many([bomb_gif()])
    concepts = list(verdict.scores)
    unlabelled = dataclasses.replace(verdict, labels=())
    with pytest.raises(ValueError, match="scores but no label"):
        check_verdict(unlabelled, verdict.sha256, concepts)
    assert check_verdict(verdict, verdict.sha256, concepts) is verdict


def test_modbot_classify_prints_a_partial_verdicts_labels(tmp_path, tiny_checkpoint) -> None:
    """`modbot classify` printed only "unreadable: ..." of such a file, hiding the label
    its first frame fired (which the bot's rules act on)."""
    import subprocess
    import sys

    bomb = tmp_path / "bomb.gif"
    bomb.write_bytes(bomb_gif())
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "classifier: {model: modbot-tiny, pretrained: null, checkpoint: "
        f"'{tiny_checkpoint}', device: cpu, allow_random_weights: true}}\n"
        "concepts:\n  probe: {prompts: ['a photo of a cat'], threshold: -1}\n"
        "rules:\n  - name: probe\n    if: {labels: [probe]}\n    then: {report: probe}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "classify", "--rules", str(rules), str(bomb)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = done.stdout.strip()
    assert line.startswith(f"{bomb}: "), done.stdout + done.stderr
    assert "probe" in line.split("(partly unreadable")[0], line
    assert f"(partly unreadable: {FIRST_FRAME_ONLY}" not in line  # the bomb said first
    assert "GIF frame 2 of 2" in line and FIRST_FRAME_ONLY in line, line
    assert done.returncode == 1, line  # a file not wholly read: as an unreadable one
