"""A feed URL in rules.yaml that is not http(s) (a typo, a trailing space) is refused
with what to write, and without its password or token: the message goes to the
terminal and, on a reload of a running daemon, to its log."""

from __future__ import annotations

from pathlib import Path

from modbot.cli import main

KEY = "ed25519:A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="


def test_a_bad_feed_url_is_refused_without_its_secrets(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "feeds:\n"
        '  peer: {url: "ftp://sub:PASSWORD9@peer.example/h.json?access_token=SECRET7", '
        f'key: "{KEY}", use: known-bad}}\n'
        '  spaced: {url: "https://peer.example/h.json?token=SECRET8 ", '
        f'key: "{KEY}", use: known-bad}}\n'
    )
    assert main(["check-rules", str(rules)]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "PASSWORD9" not in text and "SECRET7" not in text and "SECRET8" not in text
    lines = [line for line in text.splitlines() if "feeds." in line]
    assert lines == [
        f"{rules}:2: feeds.peer.url: a feed's url is http:// or https:// and has no "
        "spaces, not 'ftp://peer.example/h.json?access_token=***'",
        f"{rules}:3: feeds.spaced.url: a feed's url is http:// or https:// and has no "
        "spaces, not 'https://peer.example/h.json?token=***'",
    ]
