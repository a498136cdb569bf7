"""`threatexchange dataset -P -s pdq` (one signal type) prints each PDQ hash bare, with
its metadata after it (``HASH FetchedSignalMetadata(...)``). Read as a local_file
(`format: threatexchange`), its lines are left out as bare hashes are
(docs/hash-sharing.md), but each was said to be "not a python-threatexchange signal
type modbot knows", the hash taken for a signal type's name: nothing told the admin
that the list held bare hashes, and what to do. They are now said as bare hashes, with
the command that prints a local_file."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.hashes import HashList, HashListError

PDQ = "ab" * 32


def test_bare_hashes_with_metadata_are_said_as_bare_hashes(tmp_path: Path) -> None:
    path = tmp_path / "dataset.te"
    path.write_text(f"{PDQ} FetchedSignalMetadata()\npdq {'cd' * 32}\n")
    listed = HashList.load(path, "pdq", format="threatexchange")
    assert len(listed) == 1
    [(line, _, why)] = listed.skipped
    assert line == 1
    assert why.startswith("a bare hash without its signal type (64 hex digits)"), why
    assert "--print-signals-only" in why, why


def test_a_pdq_line_with_metadata_is_refused_saying_how_to_export(tmp_path: Path) -> None:
    """`threatexchange dataset -P` of several signal types: ``pdq HASH 'Collab' META``;
    refused (a pdq line whose signal is not a hash), now saying what the text is."""
    path = tmp_path / "dataset.te"
    path.write_text(f"pdq {PDQ} 'Sample Data' FetchedSignalMetadata()\n")
    with pytest.raises(HashListError) as refused:
        HashList.load(path, "pdq", format="threatexchange")
    said = str(refused.value)
    assert ":1: pdq: expected a PDQ hash" in said and "--print-signals-only" in said, said
