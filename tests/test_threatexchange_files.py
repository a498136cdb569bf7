"""python-threatexchange's `local_file` format, round-tripped through the real
`threatexchange` package (a test dependency): its CLI reads what modbot writes and
matches photos with it, and modbot reads what its CLI writes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from modbot.hashes import HASH_KINDS, HashListError, load_list
from modbot.threatexchange_files import (
    load_local_file,
    read_local_file,
    write_local_file,
    write_plain_list,
)

pytest.importorskip("threatexchange", reason="the test extra installs threatexchange")

DATA = Path(__file__).parent / "data"
PHOTOS = ["astronaut", "chelsea", "coffee", "china", "grace_hopper"]
PDQ = HASH_KINDS["pdq"]


def photo(name: str) -> bytes:
    return (DATA / f"{name}.jpg").read_bytes()


def recompressed(name: str, directory: Path) -> Path:
    """A half-size JPEG q50 copy, as pict-rs might store it (a test file: never the bot)."""
    img = Image.open(io.BytesIO(photo(name))).convert("RGB")
    img = img.resize((img.width // 2, img.height // 2), Image.Resampling.BICUBIC)
    path = directory / f"{name}-copy.jpg"
    img.save(path, "JPEG", quality=50)
    return path


class ThreatExchangeCLI:
    """The `threatexchange` command, with its state in a directory of its own."""

    def __init__(self, home: Path):
        self.home = home
        self.exe = Path(sys.executable).with_name("threatexchange")

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.exe), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(self.home)},
        )
        assert done.returncode == 0, f"threatexchange {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def subscribe(self, name: str, path: Path, *options: str) -> None:
        self("config", "collab", "edit", "local_file", "--create", "--filename", str(path),
             *options, name)  # fmt: skip
        self("fetch")


@pytest.fixture
def te(tmp_path: Path) -> ThreatExchangeCLI:
    """A fresh `threatexchange` state for each test: only its own collaborations."""
    home = tmp_path / "home"
    home.mkdir()
    return ThreatExchangeCLI(home)


def test_threatexchange_reads_and_matches_what_modbot_writes(te, tmp_path: Path):
    listed = ["coffee", "china", "astronaut"]  # two or more: see facebook/ThreatExchange#1318
    hashes = [("pdq", PDQ.compute(photo(n)).hex) for n in listed]
    exported = write_local_file([*hashes, ("md5", HASH_KINDS["md5"].compute(b"x").hex)])
    assert exported.count == 3 and not exported.notes
    assert [k for k, _, _ in exported.left_out] == ["md5"]
    assert "no photo MD5 signal type" in exported.left_out[0][2]
    path = tmp_path / "modbot-feed.txt"
    path.write_text(exported.text)
    te.subscribe("modbot-export", path)
    # Its dataset holds exactly our lines (`-S`: printed in the local_file format).
    assert sorted(te("dataset", "-P", "-S").splitlines()) == sorted(exported.text.splitlines())
    # Its matcher finds re-encoded copies of the listed photos, not the others.
    for name in listed:
        out = te("match", "photo", str(recompressed(name, tmp_path))).split()
        assert out[0] == "pdq" and int(out[1]) <= 31 and out[2] == "(modbot-export)", (name, out)
    for name in ("chelsea", "grace_hopper"):
        assert te("match", "photo", str(recompressed(name, tmp_path))) == ""


def test_modbot_reads_what_threatexchange_writes(te, tmp_path: Path):
    lines = []
    for name in PHOTOS:
        out = te("hash", "photo", str(DATA / f"{name}.jpg")).strip()
        assert out.startswith("pdq ")
        lines.append(out)
    path = tmp_path / "from-threatexchange.txt"
    path.write_text("\n".join(lines) + "\n")
    imported = load_local_file(path)
    assert not imported.skipped and len(imported.hashes) == len(PHOTOS)
    index = PDQ.index(imported.of_kind("pdq"), PHOTOS)
    for name in PHOTOS:
        ours = PDQ.compute(photo(name))
        found = index.lookup(ours)
        # python-threatexchange hashes at full size, modbot shrinks to 512 px first.
        assert found is not None and found.payload == name and found.distance <= 24, name
        if name == "astronaut":  # 512x512: nothing to shrink, the very same hash
            assert found.distance == 0
    # Its whole dataset, as it prints it, reads back as the same hashes.
    te.subscribe("from-te", path)
    dataset = read_local_file(te("dataset", "-P", "-S"))
    assert set(imported.of_kind("pdq")) <= set(dataset.of_kind("pdq"))


def test_bare_hashes_for_a_collaboration_with_a_fixed_signal_type(te, tmp_path: Path):
    hashes = [("pdq", PDQ.compute(photo(n)).hex) for n in ("chelsea", "grace_hopper")]
    exported = write_local_file(hashes, signal_type="pdq")
    assert exported.text == "".join(h + "\n" for _, h in hashes)
    path = tmp_path / "bare.txt"
    path.write_text(exported.text)
    te.subscribe("bare", path, "--signal-type", "pdq")
    out = te("match", "photo", str(recompressed("chelsea", tmp_path))).split()
    assert out[:1] == ["pdq"] and "(bare)" in out
    assert read_local_file(exported.text, signal_type="pdq").of_kind("pdq") == [
        h for _, h in hashes
    ]


def test_the_library_parses_our_file_and_its_examples_parse_here(tmp_path: Path):
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )
    from threatexchange.signal_type.pdq.signal import PdqSignal

    examples = PdqSignal.get_examples()
    assert len(examples) >= 2
    assert [PDQ.parse(e) for e in examples] == examples
    exported = write_local_file([("pdq", e) for e in examples])
    path = tmp_path / "examples.txt"
    path.write_text(exported.text)
    collab = FileCollaborationConfig(name="t", filename=str(path))
    (delta,) = LocalFileSignalExchangeAPI(collab).fetch_iter([PdqSignal], None)
    assert sorted(signal for _, signal in delta.updates) == sorted(set(examples))
    assert {stype for stype, _ in delta.updates} == {"pdq"}
    for _, signal in delta.updates:
        assert PdqSignal.validate_signal_str(signal) == signal


def test_a_single_hash_export_warns_about_the_cli_bug():
    exported = write_local_file([("pdq", PDQ.compute(photo("coffee")).hex)])
    assert exported.count == 1
    assert "facebook/ThreatExchange#1318" in exported.notes[0]


def test_other_signal_types_are_skipped_and_said_bad_pdq_lines_refused():
    coffee = PDQ.compute(photo("coffee")).hex
    text = (
        f"pdq {coffee.upper()}\n"
        "\n"
        f"video_md5 {HASH_KINDS['md5'].compute(b'video').hex}\n"
        "url https://example.invalid/x\n"
        "notatype zzz\n"
        f"pdq {coffee}\n"  # the same hash again: once
        "pdq\n"
    )
    got = read_local_file(text)
    assert got.hashes == [("pdq", coffee, 1)]
    assert got.skipped == [
        (3, "video_md5", "an MD5 of a video; modbot hashes images"),
        (4, "url", "a URL, not an image hash"),
        (5, "notatype", "not a python-threatexchange signal type modbot knows"),
        (7, "pdq", "no signal after the signal type"),
    ]
    with pytest.raises(HashListError) as caught:
        read_local_file(f"pdq {coffee}\npdq {coffee[:-1]}\npdq {coffee}  a note\n", shown="x.txt")
    assert [(line, msg.split(",")[0]) for _, line, msg in caught.value.problems] == [
        (2, "pdq: expected a PDQ hash (64 hex digits)"),
        (3, "pdq: expected a PDQ hash (64 hex digits)"),
    ]
    assert str(caught.value).startswith("x.txt:2: pdq: expected a PDQ hash")
    with pytest.raises(ValueError, match="signal type 'video_md5': an MD5 of a video"):
        read_local_file("", signal_type="video_md5")


def test_md5_and_sha1_go_in_plain_lists_that_modbot_and_md5sum_users_read(tmp_path: Path):
    data = [photo(n) for n in ("coffee", "china")]
    for kind in ("md5", "sha1"):
        values = [HASH_KINDS[kind].compute(d).hex for d in data]
        text = write_plain_list(kind, [*values, values[0].upper()])
        assert text.splitlines() == values
        exported = write_local_file([(kind, v) for v in values])
        assert exported.text == "" and len(exported.left_out) == 2
        path = tmp_path / f"list.{kind}"
        path.write_text(text)
        index = load_list(path, kind)
        assert index.lookup(HASH_KINDS[kind].compute(data[1])).payload == 2
