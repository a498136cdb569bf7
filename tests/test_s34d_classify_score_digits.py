"""`modbot classify` prints each top score as the margin it is: a rounded similarity
(4 decimals) minus a threshold (4 decimals: 0.2175, 0.219), "> 0 means the label fired"
(its --help). Printed to 3 decimals, a label that fired by one step showed as
"+0.000", and a near miss as "-0.000": the one digit that says how close it came, and
whether it fired, was cut off."""

from __future__ import annotations

import io
from concurrent.futures import Future

from PIL import Image

from classifier.verdict import Verdict
from modbot.cli import build_parser
from modbot.cli import classify as command

SCORES = {"csam": 0.0001, "underage": 0.0001, "nsfw": 0.0123, "anime": -0.0004, "subject": 0.01}


class StandIn:
    random_weights = False

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict

    def submit(self, data: bytes) -> Future:
        future: Future = Future()
        future.set_result(self.verdict)
        return future

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def run(monkeypatch, tmp_path, capsys, scores: dict[str, float]) -> str:
    image = tmp_path / "a.png"
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(out, "PNG")
    image.write_bytes(out.getvalue())
    labels = tuple(sorted(k for k, v in scores.items() if v > 0 and k != "subject"))
    verdict = Verdict(labels, scores, {}, {}, "stand-in", False, "v1", regions=1)
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.setattr(command, "_engine_from_options", lambda args: StandIn(verdict))
    args = build_parser().parse_args(["classify", "--model", "stand-in", str(image)])
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_a_label_that_fired_by_one_step_shows_a_score_above_zero(monkeypatch, tmp_path, capsys):
    out = run(monkeypatch, tmp_path, capsys, SCORES)
    assert "csam, nsfw, underage" in out
    assert "nsfw +0.0123" in out
    # one of the two labels that fired by 0.0001 is among the top three, as what it is
    assert "+0.0001" in out and "+0.000," not in out and "+0.000;" not in out


def test_a_near_miss_shows_how_near(monkeypatch, tmp_path, capsys):
    out = run(monkeypatch, tmp_path, capsys, {"nsfw": -0.0004, "csam": -0.02, "underage": -0.03})
    assert "no labels" in out
    assert "nsfw -0.0004" in out
