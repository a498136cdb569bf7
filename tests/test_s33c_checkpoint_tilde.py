"""`classifier.checkpoint: ~/models/clip.safetensors`: `~` is the home folder, as in
classifier.deepdanbooru and as a shell reads it. Before, it was taken as written (a
folder named `~` beside the rules file): check-rules said the file "does not exist
here" while `ls ~/models/...` showed it, and `modbot run` did not find it either."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write

from modbot.config.policy import load_policy

RULES = (
    "classifier: {model: ViT-L-14, pretrained: null, "
    "checkpoint: ~/models/clip.safetensors}\nrules: []\n"
)


def test_a_checkpoint_under_tilde_is_the_home_folders(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "clip.safetensors").write_bytes(b"weights")
    name = write(tmp_path, RULES)
    rc, out = check(tmp_path, name, env={"HOME": str(home)})
    assert rc == 0, out
    assert not [x for x in out if "checkpoint" in x], out  # found: nothing to say
    monkeypatch.setenv("HOME", str(home))
    policy = load_policy(tmp_path / name)
    assert policy.checkpoint_path == home / "models" / "clip.safetensors"


def test_a_checkpoint_under_tilde_not_there_is_warned_of(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    name = write(tmp_path, RULES)
    rc, out = check(tmp_path, name, env={"HOME": str(home)})
    assert rc == 0, out
    (said,) = [x for x in out if "checkpoint" in x]
    assert "does not exist here" in said, said
