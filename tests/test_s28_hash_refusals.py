"""Both perceptual kinds refuse the same files in the same words (`modbot hash`): a file
over the pixel cap, or of a format modbot does not read, is that, not "not a readable
image" (the pHash's refusal once wrapped its own reason in those words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from modbot.cli import main


@pytest.mark.parametrize(
    ("size", "fmt", "reason"),
    [
        ((9000, 8000), "PNG", "9000x8000 is over the 64 megapixel cap"),
        ((16, 16), "ICO", "ICO is not an image format modbot reads"),
    ],
)
def test_phash_and_pdq_say_the_same_reason(
    size: tuple[int, int],
    fmt: str,
    reason: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"image.{fmt.lower()}"
    Image.new("L" if fmt == "PNG" else "RGB", size).save(path, fmt)
    assert main(["hash", "--kind", "phash", "--kind", "pdq", str(path)]) == 1
    said = capsys.readouterr().err.splitlines()
    assert said == [
        f"modbot hash: {path}: no phash: {reason}",
        f"modbot hash: {path}: no pdq: {reason}",
    ]


def test_a_broken_file_is_still_not_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.png"
    full = tmp_path / "full.png"
    Image.effect_noise((256, 256), 64).save(full, "PNG")
    path.write_bytes(full.read_bytes()[:2000])
    assert main(["hash", "--kind", "phash", "--kind", "pdq", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": not a readable image: ")[0] for line in lines] == [
        f"modbot hash: {path}: no phash",
        f"modbot hash: {path}: no pdq",
    ]
