"""`modbot worker --max-bytes 25` (meant: 25MB) was taken as 25 bytes: the worker then
refused every image with 413, and each bot asking it recorded every image as
classifier_error, marked seen and never classified, with no word at the worker's start.
The bot's own size caps refuse a number that small (a number without a unit is bytes);
the worker's --max-bytes now does too, before the model loads."""

from __future__ import annotations

import pytest

from modbot.cli import build_parser, main


@pytest.mark.parametrize("given", ["25", "40", "99999"])
def test_a_max_bytes_less_than_any_image_is_refused_saying_the_unit(capsys, given):
    with pytest.raises(SystemExit) as stopped:
        main(["worker", "--no-auth", "--max-bytes", given])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "--max-bytes" in said and f"like {given}MB" in said, said


def test_a_max_bytes_with_its_unit_is_taken():
    from modbot.cli.worker import worker_config

    args = build_parser().parse_args(["worker", "--no-auth", "--max-bytes", "100KB"])
    assert worker_config(args, {}, None).max_body == 100_000
