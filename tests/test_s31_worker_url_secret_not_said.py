"""A worker URL written with a password or a token in it (`https://u:s3cret@gpu/`,
`https://gpu/?token=s3cret`) is refused, and the refusal, which reaches the output
of `check-rules` and the log, named the URL whole: the secret with it. It names the
URL without its user info, query and fragment now."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://admin:s3cret@gpu.example:8443/", "no user or password in the URL"),
        ("https://gpu.example/v?token=s3cret", "no query or fragment"),
        ("https://gpu.example/#s3cret", "no query or fragment"),
        ("ftp://u:s3cret@gpu.example/", "must start with http:// or https://"),
        ("https://u:s3cret@gpu.example:99999/", "no user or password"),
    ],
)
def test_a_refused_worker_url_is_named_without_its_secret(
    url: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"classifier:\n  remote: {url!r}\n")
    assert main(["check-rules", str(rules)]) != 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert said in out, out
    assert "s3cret" not in out, out
    assert "gpu.example" in out  # still says which URL
