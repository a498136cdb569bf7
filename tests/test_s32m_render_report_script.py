"""scripts/render-report.sh with a stand-in for Chromium (none is installed here): the
report's file URL is percent-encoded (a `#` or a space in its name is not a fragment
that opens another file), and a PNG left by an earlier render is never taken for this
one when Chromium writes none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "render-report.sh"

# Writes a PNG where --screenshot= says only when the file:// URL names a file that is
# there (and FAKE_FAIL is not set), as Chromium renders the page it is given; exits 0
# either way, as Chromium may. Records its URL.
FAKE = """#!/bin/sh
for a in "$@"; do
  case "$a" in
    --screenshot=*) shot="${a#--screenshot=}" ;;
    file://*) url="$a" ;;
  esac
done
printf '%s' "$url" > "$FAKE_LOG"
path=$(python3 -c 'import sys; from urllib.parse import urlsplit, unquote; print(unquote(urlsplit(sys.argv[1]).path))' "$url")
[ -z "$FAKE_FAIL" ] && [ -f "$path" ] && printf '\\211PNG\\r\\n\\032\\nfake' > "$shot"
exit 0
"""


def run(
    tmp_path: Path, report: Path, out: Path, *, fail: bool = False
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "chromium"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env["FAKE_LOG"] = str(tmp_path / "url.txt")
    if fail:
        env["FAKE_FAIL"] = "1"
    return subprocess.run(
        [str(SCRIPT), str(report), str(out)], env=env, capture_output=True, text=True
    )


def test_a_report_named_with_a_hash_or_a_space_is_the_file_rendered(tmp_path):
    report = tmp_path / "week #1 100%.html"
    report.write_text("<p>x</p>")
    out = tmp_path / "shot.png"
    done = run(tmp_path, report, out)
    url = (tmp_path / "url.txt").read_text()
    assert unquote(urlsplit(url).path) == str(report), url
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_an_earlier_png_is_not_taken_for_a_render_that_wrote_none(tmp_path):
    report = tmp_path / "r.html"
    report.write_text("<p>x</p>")
    out = tmp_path / "r.png"
    out.write_bytes(b"\x89PNG\r\n\x1a\nan earlier render")
    done = run(tmp_path, report, out, fail=True)  # Chromium wrote no screenshot
    assert done.returncode != 0
    assert str(out) not in done.stdout
