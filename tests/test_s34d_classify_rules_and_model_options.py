"""`modbot classify --rules FILE` with a model option too (`--device cpu`, say, to run
the rules' classifier beside a daemon holding the GPU): the model options won and the
rules file named on the command line was dropped without a word: the verdicts came
from the default model (ViT-L-14/openai, no custom concepts, DeepDanbooru auto), not
the rules' model, checkpoint and concepts the admin asked for. The two together are
refused, naming both, before any model loads; a model option still wins over the
rules file found by default ($MODBOT_RULES, ./rules.yaml), as --help says."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from modbot.cli import build_parser
from modbot.cli import classify as command


@pytest.fixture
def built(monkeypatch, tmp_path):
    """Which engine `classify` built: 'rules' (with its path) or 'options'."""
    made: list[tuple[str, object]] = []
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        command, "_engine_from_rules", lambda path: made.append(("rules", path)) or 2
    )
    monkeypatch.setattr(
        command, "_engine_from_options", lambda args: made.append(("options", args)) or 2
    )
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    (tmp_path / "a.png").write_bytes(out.getvalue())
    (tmp_path / "mine.yaml").write_text("classifier: {device: cuda}\n")
    return made


def classify(*argv: str) -> int:
    args = build_parser().parse_args(["classify", *argv])
    return args.func(args)


@pytest.mark.parametrize("extra", [["a.png"], ["--prepare"]])
def test_rules_named_with_a_model_option_are_refused_naming_both(built, capsys, extra):
    status = classify("--rules", "mine.yaml", "--device", "cpu", *extra)
    err = capsys.readouterr().err
    assert status == 2, "a usage error, as argparse's"
    assert "--rules" in err and "--device" in err
    assert built == [], "no classifier was built: neither the rules' nor the default"


def test_a_model_option_still_wins_over_the_rules_found_by_default(built, monkeypatch):
    monkeypatch.setenv("MODBOT_RULES", "mine.yaml")
    classify("--device", "cpu", "a.png")
    assert [kind for kind, _ in built] == ["options"]


def test_rules_alone_are_used(built):
    classify("--rules", "mine.yaml", "a.png")
    assert [kind for kind, _ in built] == ["rules"]
