"""`classifier.deepdanbooru: /models` (the folder holding the weights, not the file):
check-rules said the path "does not exist here", which `ls /models` contradicts; `run`
then stops at start. Now it says the path is a folder and which file in it to name."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, write


def test_a_folder_given_for_the_weights_names_the_file_in_it(tmp_path: Path):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "model-resnet_custom_v3.pt").write_bytes(b"weights")
    name = write(tmp_path, f"classifier: {{deepdanbooru: {folder}}}\nrules: []\n")
    rc, out = check(tmp_path, name)
    (said,) = [x for x in out if "deepdanbooru" in x]
    assert said.startswith("rules.yaml:1: warning: classifier.deepdanbooru"), said
    assert "does not exist" not in said, said
    assert f"{folder} is a folder" in said, said
    assert f"deepdanbooru: {folder / 'model-resnet_custom_v3.pt'}" in said, said
    assert rc == 0, out
