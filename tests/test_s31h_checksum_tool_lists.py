"""The output of `sha256sum *.jpg` is documented as a list as it is. But GNU's tools
mark a line whose file name they escaped (a backslash or a line break in it) with a
backslash before the hash, and with --tag (the form macOS's `md5` and `shasum --tag`
print, and `openssl dgst`'s) write `SHA256 (FILE) = HASH`: either refused the whole
rules file ("expected a SHA-256 (64 hex digits), got '\\9f86...'" or "got 'SHA256'").
Now both are read, and the hash a line holds is matched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from modbot.cli import main
from modbot.hashes import HashList


def files(folder: Path) -> dict[str, bytes]:
    """Images whose names GNU's tools escape (a backslash, a line break), and plain ones
    (one named with a # too)."""
    named = {"back\\slash.jpg": b"one", "line\nbreak.jpg": b"two", "plain.jpg": b"three",
             "a#b.jpg": b"four"}  # fmt: skip
    folder.mkdir()
    for name, data in named.items():
        (folder / name).write_bytes(data)
    return named


@pytest.mark.parametrize("tool", ["sha256sum", "md5sum", "sha1sum"])
@pytest.mark.parametrize("tag", [False, True])
def test_a_checksum_tool_s_output_is_a_list_as_it_is(
    tool: str, tag: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"no {tool} here")
    named = files(tmp_path / "images")
    kind = tool.removesuffix("sum")
    listed = subprocess.run(
        [tool, *(["--tag"] if tag else []), *named], cwd=tmp_path / "images",
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "bad.txt").write_bytes(listed)
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"hash_lists:\n  bad: {{kind: {kind}, file: bad.txt}}\n")

    assert main(["check-rules", str(rules)]) == 0, capsys.readouterr()
    loaded = HashList.load(tmp_path / "bad.txt", kind)
    for data in named.values():
        digest = hashlib.new(kind, data).hexdigest()
        assert loaded.lookup({kind: digest}) == kind


def test_tagged_lines_of_another_kind_say_what_they_are(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    md5 = hashlib.md5(b"x").hexdigest()
    path.write_text(f"MD5 (a.jpg) = {md5}\nSHA2-256(b.jpg)= {'ab' * 32}\n")
    with pytest.raises(ValueError) as refused:
        HashList.load(path, "sha256")
    assert str(refused.value) == (
        f"{path}:1: expected a SHA-256 (64 hex digits), got {md5!r} (this looks like an "
        "MD5: put it in a list of kind md5)"
    )
