"""A hash list saved by a Windows editor (a UTF-8 byte order mark, CRLF line ends) is
read like any other, as the rules file is: its first line is neither refused nor lost."""

from __future__ import annotations

from pathlib import Path

from modbot.hashes import HashList

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"
BOM = b"\xef\xbb\xbf"


def test_a_plain_list_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "notepad.sha256"
    path.write_bytes(BOM + f"# from the admins\r\n{SHA.upper()}\r\n".encode())
    assert HashList.load(path, "sha256").lookup({"sha256": SHA}) == "sha256"
    path.write_bytes(BOM + f"{SHA}  image.jpg\r\n".encode())  # the hash on the first line
    assert list(HashList.load(path, "sha256").index.payloads) == [1]


def test_a_threatexchange_file_with_a_byte_order_mark_keeps_its_first_hash(
    tmp_path: Path,
) -> None:
    path = tmp_path / "industry.txt"
    path.write_bytes(BOM + f"pdq {PDQ}\r\n".encode())
    loaded = HashList.load(path, "pdq", format="threatexchange")
    assert (len(loaded), loaded.skipped) == (1, [])
