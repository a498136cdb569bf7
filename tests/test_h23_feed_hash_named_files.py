"""Evidence files are often named by their own hash. `modbot hash --kind K FILE...`
prints a list file of kind K "as it is" (`HASH  FILE`, like md5sum): a file named by
its SHA-256 makes a line with a second hash in its note, and that list must still
load, as must `md5sum`/`sha256sum` output (`HASH  FILE`, `HASH *FILE` in binary mode)
for such files. Two hashes one space apart stay an error (one hash a line)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.errors import HashListError
from modbot.hashes import HashList


def test_modbot_hash_output_for_files_named_by_their_hash_is_a_list(
    photos: dict[str, bytes], tmp_path: Path, capsys, monkeypatch
) -> None:
    data = photos["coffee"]
    sha256 = hashlib.sha256(data).hexdigest()
    md5 = hashlib.md5(data).hexdigest()
    (tmp_path / sha256).write_bytes(data)
    (tmp_path / "china.jpg").write_bytes(photos["china"])
    monkeypatch.chdir(tmp_path)
    assert main(["hash", "--kind", "md5", sha256, "china.jpg"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{md5}  {sha256}"
    (tmp_path / "bad.md5").write_text(out)
    listed = HashList.load(tmp_path / "bad.md5", "md5")
    assert len(listed) == 2
    assert listed.lookup({"md5": md5}) == "md5"


def test_md5sum_lines_for_files_named_by_a_hash_are_a_list(tmp_path: Path) -> None:
    md5 = hashlib.md5(b"x").hexdigest()
    other = hashlib.md5(b"y").hexdigest()
    name = hashlib.sha256(b"x").hexdigest()
    (tmp_path / "text.md5").write_text(f"{md5}  {name}\n{other} *{name}\n")
    assert len(HashList.load(tmp_path / "text.md5", "md5")) == 2

    (tmp_path / "two.md5").write_text(f"{md5} {other}\n")
    with pytest.raises(HashListError, match="one hash a line"):
        HashList.load(tmp_path / "two.md5", "md5")
