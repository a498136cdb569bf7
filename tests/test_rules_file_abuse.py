"""A hostile or mistaken rules file or hash list: a FILE:LINE error, at once, never a hang,
a traceback or unbounded memory; through `modbot check-rules` and the start of `modbot run`.

Each command runs under a 1 GiB address-space limit and a timeout, so a loader that
expands a YAML bomb fails the test (MemoryError) instead of eating the machine, and one
that blocks on a named pipe fails it by the timeout.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
LIMIT = 1 << 30


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def modbot(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limit_memory,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})},
    )


def check(cwd: Path, path: str = "rules.yaml") -> list[str]:
    """check-rules on `path`: it must refuse the file cleanly. Returns the problem lines."""
    done = modbot(cwd, "check-rules", path)
    assert done.stderr == "", done.stderr[-2000:]
    assert done.returncode == 1, done.stdout
    out = done.stdout.splitlines()
    assert (
        out[-1]
        == f"{path}: {len(out) - 1} problem{'s' * (len(out) != 2)}; modbot will not start with this file"
    )
    return out[:-1]


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


LAUGHS = """
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
rules: []
"""


def test_a_yaml_bomb_is_refused_at_the_alias_that_makes_it_too_big(tmp_path: Path):
    write(tmp_path, LAUGHS)
    assert check(tmp_path) == [
        "rules.yaml:5: YAML error: more than 20000 values (YAML aliases *name counted as the "
        'values they repeat; a "billion laughs" file?): a rules file needs far fewer'
    ]


def test_an_alias_inside_its_own_value_is_a_loop(tmp_path: Path):
    write(
        tmp_path,
        """
        rules:
          - &rule
            name: loop
            if: {type: any}
            then: {report: true, extra: *rule}
    """,
    )
    assert check(tmp_path) == [
        "rules.yaml:5: YAML error: the alias *rule is inside the value it names (a loop)"
    ]


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text("rules:\n  - " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert check(tmp_path) == ["rules.yaml:2: YAML error: nested more than 40 levels deep"]


def test_deep_nesting_made_of_aliases_is_refused_too(tmp_path: Path):
    levels = "[" * 30, "]" * 30
    lines = [f"a0: &a0 {levels[0]}x{levels[1]}"]
    lines += [f"a{i}: &a{i} {levels[0]}*a{i - 1}{levels[1]}" for i in range(1, 40)]
    (tmp_path / "rules.yaml").write_text("\n".join(lines) + "\nrules: []\n")
    assert check(tmp_path) == ["rules.yaml:2: YAML error: nested more than 40 levels deep"]


def test_values_yaml_reads_but_python_cannot_hold_are_problems(tmp_path: Path):
    write(
        tmp_path,
        f"""
        rules:
          - name: 2026-13-45
            priority: {"9" * 5000}
            if: {{type: any}}
            then: {{report: true}}
    """,
    )
    out = check(tmp_path)
    assert out[0] == "rules.yaml:2: cannot read the value '2026-13-45': month must be in 1..12"
    assert out[1].startswith("rules.yaml:3: cannot read the value '999999"), out[1]
    assert out[1].endswith(": a number of 5000 digits: give a smaller one"), out[1]
    assert not any("set_int_max_str_digits" in line for line in out), out


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda p: os.mkfifo(p), "a named pipe (FIFO)"),
        (lambda p: p.mkdir(), "a directory"),
    ],
)
def test_a_rules_path_that_is_not_a_regular_file(tmp_path: Path, make, what):
    make(tmp_path / "rules.yaml")
    assert check(tmp_path) == [
        f"rules.yaml:1: not a regular file: it is {what}; give the path of a rules file"
    ]


def test_dev_zero_as_the_rules_file(tmp_path: Path):
    assert check(tmp_path, "/dev/zero") == [
        "/dev/zero:1: not a regular file: it is a character device; give the path of a rules file"
    ]


def test_a_large_or_binary_rules_file(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text("# padding\n" * 25_000 + "rules: []\n")
    assert check(tmp_path) == [
        "rules.yaml:1: too large: 250 KB, over the 200 KB limit for a rules file"
    ]
    (tmp_path / "rules.yaml").write_bytes(b"rules: []\n# fine\n\x00\x01\x02\xff")
    assert check(tmp_path) == [
        "rules.yaml:3: binary content (a NUL byte), not text: is this a rules file?"
    ]


def test_hash_lists_that_are_not_text_files(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.sha256")
    (tmp_path / "binary.sha256").write_bytes(f"{SHA}\n{SHA}\n".encode() + b"\x7fELF\x00\x01")
    with open(tmp_path / "huge.sha256", "wb") as f:  # sparse: no disk used
        f.truncate(150_000_000)
    write(
        tmp_path,
        """
        hash_lists:
          zero: {kind: sha256, file: /dev/zero}
          pipe: {kind: sha256, file: pipe.sha256}
          folder: {kind: phash, file: .}
          binary: {kind: sha256, file: binary.sha256}
          huge: {kind: sha256, file: huge.sha256}
        rules:
          - name: known bad
            if: {hash_list: [zero, pipe, folder, binary, huge]}
            then: {report: true}
    """,
    )
    assert check(tmp_path) == [
        "rules.yaml:2: hash list 'zero': '/dev/zero' is not a regular file: it is a "
        "character device; give the path of a hash list",
        "rules.yaml:3: hash list 'pipe': 'pipe.sha256' is not a regular file: it is a named "
        "pipe (FIFO); give the path of a hash list",
        "rules.yaml:4: hash list 'folder': '.' is not a regular file: it is a directory; give "
        "the path of a hash list",
        "rules.yaml:6: hash list 'huge': 'huge.sha256' is too large: 150 MB, over the 100 MB "
        "limit for a hash list",
        "binary.sha256:3: hash list 'binary': binary content (a NUL byte), not text: is this "
        "a hash list?",
    ]


def test_run_refuses_to_start_on_them_at_once(tmp_path: Path):
    os.mkfifo(tmp_path / "rules.yaml")
    env = {
        "LEMMY_URL": "http://127.0.0.1:9",
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": "rules.yaml",
    }
    done = modbot(tmp_path, "run", "--once", env=env)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == [
        "rules.yaml:1: not a regular file: it is a named pipe (FIFO); give the path of a "
        "rules file",
        "modbot run: rules.yaml is not valid; not starting (see `modbot check-rules rules.yaml`)",
    ]
    (tmp_path / "rules.yaml").unlink()
    write(tmp_path, LAUGHS)
    done = modbot(tmp_path, "run", "--once", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2].startswith(
        "rules.yaml:5: YAML error: more than 20000 values"
    )
