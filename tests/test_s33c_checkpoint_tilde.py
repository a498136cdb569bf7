"""`classifier.checkpoint: ~/models/clip.safetensors`: `~` is taken as written (a folder
named `~` beside the rules file), unlike classifier.deepdanbooru, where it is the home
folder. check-rules said the file "does not exist here" while `ls ~/models/...` shows
it, and `modbot run` does not find it either. Now the warning says `~` is not the home
folder there, and the full path to write."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write


def test_a_checkpoint_under_tilde_is_told_to_write_the_full_path(tmp_path: Path):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "clip.safetensors").write_bytes(b"weights")
    name = write(
        tmp_path,
        "classifier: {model: ViT-L-14, pretrained: null, "
        "checkpoint: ~/models/clip.safetensors}\nrules: []\n",
    )
    rc, out = check(tmp_path, name, env={"HOME": str(home)})
    assert rc == 0, out  # a warning, as for any checkpoint not here
    (said,) = [x for x in out if "checkpoint" in x]
    assert said.startswith("rules.yaml:1: warning: classifier checkpoint"), said
    assert "~ is not your home folder here" in said, said
    assert f"checkpoint: {home / 'models' / 'clip.safetensors'}" in said, said
