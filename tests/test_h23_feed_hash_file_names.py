"""`modbot hash --kind K FILE...` prints a list file of kind K: a file's name that
holds a line break (a name an uploader chose, in a folder of reported files) must not
become a line of its own, a hash in the list the bot then acts on. Names are printed
with their line breaks and other unprintable characters escaped (`\\n`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from modbot.cli import main
from modbot.hashes import HashList


def test_a_line_break_in_a_file_name_adds_no_hash_to_the_list(
    photos: dict[str, bytes], tmp_path: Path, capsys, monkeypatch
) -> None:
    data = photos["coffee"]
    planted = hashlib.sha256(b"everyone's avatar").hexdigest()
    name = f"x\n{planted}  y\x0c{planted}  z.jpg"
    (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    assert main(["hash", "--kind", "sha256", name]) == 0
    out = capsys.readouterr().out
    sha256 = hashlib.sha256(data).hexdigest()
    assert out == f"{sha256}  x\\n{planted}  y\\x0c{planted}  z.jpg\n"
    (tmp_path / "bad.sha256").write_text(out)
    listed = HashList.load(tmp_path / "bad.sha256", "sha256")
    assert len(listed) == 1 and listed.lookup({"sha256": planted}) is None

    assert main(["hash", "--kind", "md5", "--kind", "sha256", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.endswith("y\\x0c" + planted + "  z.jpg") for line in lines)
