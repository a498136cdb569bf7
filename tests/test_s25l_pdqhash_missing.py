"""A pdq hash list configured where the pdqhash package cannot be imported (its source
build failed, numpy missing): `modbot check-rules` and `modbot run` refuse the file and
say how to install it. Before, the file was valid and every image's PDQ failed in the
run, a warning each, so the list never matched anything."""

from __future__ import annotations

import builtins

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.feeds import public_key_text

PDQ_LIST = "0" * 63 + "1\n"
# as pyproject.toml declares it: pip builds it from source
INSTALL = "pip install 'pdqhash"


@pytest.fixture
def no_pdqhash(monkeypatch):
    """`import pdqhash` fails, as where its build failed."""
    real = builtins.__import__

    def importer(name, *args, **kwargs):
        if name == "pdqhash" or name.startswith("pdqhash."):
            raise ModuleNotFoundError("No module named 'pdqhash'", name="pdqhash")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importer)


def rules_file(tmp_path, *, pdq_list: bool, feeds: str = "") -> str:
    lists = ""
    if pdq_list:
        (tmp_path / "industry.txt").write_text(f"pdq {PDQ_LIST}")
        lists = "\n  industry: {kind: pdq, file: industry.txt, format: threatexchange}"
    (tmp_path / "hashes.sha256").write_text("")
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""hash_lists:
  known-bad: {{kind: sha256, file: hashes.sha256}}{lists}{feeds}
rules:
  - name: known
    if: {{hash_list: known-bad}}
    then: {{report: "known"}}
"""
    )
    return str(path)


def test_check_rules_refuses_a_pdq_list_without_pdqhash(tmp_path, no_pdqhash, capsys):
    path = rules_file(tmp_path, pdq_list=True)
    assert main(["check-rules", path]) == 1  # before: 0, "valid"
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"{path}: 1 problem; modbot will not start with this file"
    (problem,) = out[:-1]
    assert problem.startswith(f"{path}:3: hash list 'industry' holds pdq hashes, and ")
    assert "No module named 'pdqhash'" in problem
    assert INSTALL in problem and "g++" in problem


def test_without_pdqhash_a_file_with_no_pdq_list_is_valid(tmp_path, no_pdqhash, capsys):
    path = rules_file(tmp_path, pdq_list=False)
    assert main(["check-rules", path]) == 0
    assert INSTALL not in capsys.readouterr().out


def test_a_feed_that_may_carry_pdq_hashes_is_warned_about(tmp_path, no_pdqhash, capsys):
    """A feed says what it carries only once fetched: check-rules warns (the file is
    valid); a classified feed, whose near matches are never used, is not named."""
    key = public_key_text(Ed25519PrivateKey.generate())
    feeds = f"""
feeds:
  peer: {{url: "https://peer.example/feed.json", key: "{key}", use: known-bad}}
  verdicts: {{url: "https://peer.example/v.json", key: "{key}", use: classified}}"""
    path = rules_file(tmp_path, pdq_list=False, feeds=feeds)
    assert main(["check-rules", path]) == 0
    out = capsys.readouterr().out.splitlines()
    (warning,) = [line for line in out if ": warning: " in line]
    assert warning.startswith(
        f"{path}:4: warning: feed 'peer': any pdq hashes it carries will match nothing, "
    )
    assert "No module named 'pdqhash'" in warning and INSTALL in warning


def test_the_same_file_is_valid_where_pdqhash_imports(tmp_path, capsys):
    path = rules_file(tmp_path, pdq_list=True)
    assert main(["check-rules", path]) == 0
    assert INSTALL not in capsys.readouterr().out


def test_run_refuses_to_start(fake_lemmy, tiny, tmp_path, no_pdqhash, monkeypatch, capsys):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    (tmp_path / "pdq.txt").write_text(PDQ_LIST)
    text = rules.read_text().replace(
        "hash_lists:\n", "hash_lists:\n  look-alikes: {kind: pdq, file: pdq.txt}\n", 1
    )
    rules.write_text(text)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    assert main(["run", "--once", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "hash list 'look-alikes' holds pdq hashes" in err and INSTALL in err, err
    assert "is not valid; not starting" in err
