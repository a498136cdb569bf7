"""`modbot check-rules` and an image size cap written without its unit.

A size without a unit is a number of bytes. Before, `fetch: {max_bytes: 25}` (meant:
25MB) passed check-rules, and the bot then skipped every image as `too_large`; `gate:
{max_bytes: 40}` made the gate refuse every upload. Now a cap under 100KB, which no
admin means for images, is an error naming the line and the unit to write."""

from __future__ import annotations

from pathlib import Path

from support.check_rules import check, problems, write

RULES = """
{section}: {{max_bytes: {value}}}
rules:
  - name: csam
    if: {{labels: csam}}
    then: {{report: true}}
"""


def test_a_fetch_cap_without_its_unit_is_refused(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(section="fetch", value="25"))
    assert line.startswith("rules.yaml:1: fetch.max_bytes: 25 bytes")
    assert "too_large" in line and "25MB" in line


def test_a_gate_cap_without_its_unit_is_refused(tmp_path: Path):
    (line,) = problems(tmp_path, RULES.format(section="gate", value="40"))
    assert line.startswith("rules.yaml:1: gate.max_bytes: 40 bytes")
    # pict-rs' media.max_file_size, where such a number is copied from, is in MiB
    assert "every upload" in line and "40MiB" in line


def test_caps_an_admin_writes_still_pass(tmp_path: Path):
    for section, value in (("fetch", "512KB"), ("fetch", "25MB"), ("gate", "100000")):
        rc, out = check(tmp_path, write(tmp_path, RULES.format(section=section, value=value)))
        assert rc == 0, out
