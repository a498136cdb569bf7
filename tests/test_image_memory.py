"""Image bombs through `python -m modbot run --once`: every frame is checked before it is
decoded, each decode's memory is held in `classifier.decode_memory`, and what does not
fit is recorded unreadable with the reason (a rule can act on it), never a crash."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from support.bot import Bot
from support.policies import write_rules

from fakelemmy import hostile

UNREADABLE_RULES = """
  - name: unreadable image
    if: {unreadable: true}
    then: {report: "could not read this image: {{unreadable}}"}
"""


def run_measured(bot: Bot, directory, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """`python -m modbot ARGS` as `Bot` runs it, and the child's own peak RSS in bytes:
    its memory's high-water mark after exec (``VmHWM``), read while it runs. Not
    ``wait4``'s ``ru_maxrss``: Linux carries the parent's high-water mark into a child
    started by vfork across its exec, so that figure was this test process's (which
    grows with the tests run before it in the same worker: 2.0-2.4 GB in a full run)."""
    out, err = directory / "stdout", directory / "stderr"
    peak = 0
    with open(out, "w") as stdout, open(err, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "modbot", *args], env=bot.env, stdout=stdout, stderr=stderr
        )
        status = Path(f"/proc/{child.pid}/status")
        while True:
            try:
                found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.M)
            except OSError:
                found = None  # gone
            if found:  # monotonic: the last read before it ends is its peak
                peak = max(peak, int(found.group(1)) * 1024)
            if child.poll() is not None:
                break
            time.sleep(0.02)
    return (
        subprocess.CompletedProcess(child.args, child.returncode, out.read_text(), err.read_text()),
        peak,
    )


def rgba_png(colour: int, size: int = 2000) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (size, size), (colour, 40, 40, 128)).save(out, "PNG")
    return out.getvalue()


def test_image_bombs_are_refused_before_decoding_and_decodes_share_the_budget(
    fake_lemmy, photos, tiny, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bombs = {name: make() for name, make in hostile.IMAGE_BOMBS.items()}
    kinds = {"tiff": "tiff", "gif": "gif", "png": "png", "webp": "webp"}
    posts = {
        name: lemmy.add_post(
            cast.pics,
            cast.alice,
            name=name,
            url=lemmy.add_remote_file(f"{name}.{kinds[name.split('_')[0]]}", data),
        )
        for name, data in bombs.items()
    }
    # costly but legitimate: ~117 MB each to decode; a 300 MB budget takes two at a time
    costly = [
        lemmy.add_post(
            cast.pics,
            cast.bob,
            name=f"big {i}",
            url=lemmy.add_remote_file(f"big{i}.png", rgba_png(60 * i)),
        )
        for i in range(4)
    ]
    photo = lemmy.add_post(
        cast.pics,
        cast.alice,
        name="a photo",
        url=lemmy.add_remote_file("photo.jpg", photos["astronaut"]),
    )
    rules = write_rules(
        tmp_path, lemmy, tiny, rules=UNREADABLE_RULES, classifier=", decode_memory: 300MB"
    )
    bot = Bot(lemmy, tmp_path, rules)

    done, peak_rss = run_measured(bot, tmp_path, "run", "--once", "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    records = {r["item"]["id"]: r for r in bot.decisions() if r["item"]["kind"] == "post"}
    unreadable = {name: records[p.id]["unreadable"] for name, p in posts.items()}
    assert unreadable["tiff_huge_later_pages"].startswith(
        "TIFF frame 2 of 3 is 13000x13000, 169 megapixels, over the 64 megapixel cap"
    )
    assert unreadable["gif_huge_second_frame"].startswith(
        "GIF frame 2 of 2 is 12000x12000, 144 megapixels, over the 64 megapixel cap"
    )
    for name in ("png_16bit", "tiff_float", "png_rgba", "webp_lossless_uniform"):
        assert re.fullmatch(
            r"decoding this image would take about \d\.\d GB of memory, more "
            r"than the whole decode budget of 300 MB \(classifier.decode_memory\)",
            unreadable[name],
        ), (name, unreadable[name])
    for post in posts.values():  # a rule can act on them: here, a report each
        record = records[post.id]
        assert record["skipped"] is None and record["rule"] == "unreadable image", record
        assert record["actions"][0]["status"] == "planned"
    for post in [*costly, photo]:
        record = records[post.id]
        assert record["unreadable"] is None and record["scores"], record
        assert record["image"]["sha256"]
    # what the budget allowed: never more than 300 MB of decodes at once, and at least
    # one of the costly images was held in it
    line = done.stdout.splitlines()[0]
    decoding = re.search(r"memory peak: decoding (\d+) MB of 300 MB", line)
    assert decoding and 117 <= int(decoding.group(1)) <= 300, line
    # Without the checks this run decodes gigabytes (4.3 GB for the TIFF alone); with
    # them the tiny model, torch, numpy and the hash libraries and the 300 MB budget stay
    # under 1.5 GB (measured 0.57-0.65 GB by the child's own high-water mark, alone and
    # after thirty test files in the same worker).
    assert 0 < peak_rss < 1.5e9, peak_rss


def webp_with_alpha(size: int = 64, *, flag: bool = True) -> bytes:
    """A lossy WebP with an alpha channel (VP8X, ALPH, VP8); ``flag``: whether its
    VP8X header says so (libwebp decodes the ALPH chunk either way)."""
    out = io.BytesIO()
    Image.new("RGBA", (size, size), (200, 40, 40, 128)).save(out, "WEBP", quality=80)
    data = bytearray(out.getvalue())
    assert data[12:16] == b"VP8X" and b"ALPH" in data
    if not flag:
        data[20] &= ~0x10
    return bytes(data)


def test_a_webp_that_hides_its_alpha_is_costed_as_the_rgba_it_decodes_to(monkeypatch):
    from classifier import budget
    from classifier.budget import DecodeBudget, estimate
    from classifier.preprocess import PreprocessConfig, Unreadable, decode

    cfg = PreprocessConfig()
    honest, hiding = webp_with_alpha(), webp_with_alpha(flag=False)
    assert Image.open(io.BytesIO(hiding)).mode == "RGBA"
    # planned as what libwebp decodes (the alpha composite included), not as RGB
    assert estimate(hiding, cfg) == estimate(honest, cfg)
    assert len(decode(hiding, cfg, DecodeBudget(10**9))) >= 1
    # should Pillow ever decode a WebP with more than its header showed, it is refused
    monkeypatch.setattr(budget, "_webp_canvas", lambda data: (64, 64, False, False, False))
    with pytest.raises(
        Unreadable, match="WEBP canvas is 64x64 RGBA where its header said 64x64 RGB: refused"
    ):
        decode(honest, cfg, DecodeBudget(10**9))
