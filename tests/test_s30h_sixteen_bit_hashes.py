"""A 16-bit greyscale PNG or TIFF (Pillow's mode I;16) was hashed as Pillow converts
it to 8 bits: clipped, every value over 255 white. The picture was lost: its PDQ came
out of quality 0 (matching nothing) and its pHash tens of bits from the picture's, so
saving a listed picture as a 16-bit PNG was enough to pass every PDQ and pHash list.
Now such an image is hashed by its top 8 bits, as the picture it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "coffee.jpg"


def hashes(*paths: Path) -> dict[str, dict[str, str]]:
    """`python -m modbot hash --kind phash --kind pdq` of the files: file -> kind -> line."""
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "--env-file", "/dev/null", "hash", "--kind", "phash",
         "--kind", "pdq", *map(str, paths)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out: dict[str, dict[str, str]] = {}
    for line in done.stdout.splitlines():
        kind, value, name, *note = line.split(None, 3)
        out.setdefault(name, {})[kind] = " ".join([value, *note])
    return out


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_a_sixteen_bit_copy_hashes_as_its_picture(fmt: str, tmp_path: Path) -> None:
    grey = Image.open(PHOTO).convert("L")
    eight = tmp_path / f"eight.{fmt.lower()}"
    grey.save(eight, fmt)
    deep = tmp_path / f"sixteen.{fmt.lower()}"
    wide = np.asarray(grey).astype(np.uint16) * 257  # 8 bits widened to 16, as converters do
    Image.fromarray(wide).save(deep, fmt)
    assert Image.open(deep).mode == "I;16"
    said = hashes(eight, deep)
    # was: pdq 00001134...554b  # quality 0: below 50, matches nothing; a pHash 26 bits off
    assert said[str(deep)] == said[str(eight)]
    assert said[str(deep)]["pdq"].endswith("# quality 100")
