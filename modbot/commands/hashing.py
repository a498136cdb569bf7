"""The hash-sharing commands: `modbot hash` (every kind of hash of image files), `modbot
keys` (the instance's signing key pair), `modbot confirm` (an admin's verdict on a
recorded decision), `modbot feed publish|verify` (the signed feed of confirmed hashes).
See docs/hash-sharing.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MAX_IMAGE_BYTES = 200_000_000  # an image file given to `modbot hash`


def add_parser(subparsers: Any) -> None:
    _add_hash(subparsers)


# --- modbot hash ----------------------------------------------------------------------------


def _add_hash(subparsers: Any) -> None:
    from modbot.hashes import HASH_KINDS

    p = subparsers.add_parser(
        "hash",
        help="print every kind of hash of image files (sha256 md5 sha1 phash pdq), for lists",
        description=(
            "Print the hashes of image files, each kind modbot matches lists by: sha256, "
            "md5, sha1 (of the file's bytes), phash (64-bit perceptual) and pdq (Meta's "
            "256-bit perceptual hash, with its quality 0-100; below 50 it matches nothing). "
            "Nothing is recorded or sent. "
            "Formats: text (default) prints 'KIND  HASH  FILE' lines, or with --kind "
            "'HASH  FILE' lines, which is a list file of that kind as it is (like "
            "sha256sum); json prints one array of {file, hashes, pdq_quality, errors}; "
            "threatexchange prints python-threatexchange local_file lines ('pdq HASH'), "
            "PDQ only. Exit status: 0 every hash computed, 1 some file could not be read "
            "or is not an image a perceptual kind can decode (the other kinds still print)."
        ),
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument(
        "--kind",
        action="append",
        choices=list(HASH_KINDS),
        help="only this kind (repeat for several; default: every kind)",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "threatexchange"],
        default="text",
        help="output format (default: %(default)s)",
    )
    p.set_defaults(func=run_hash)


def run_hash(args: argparse.Namespace) -> int:
    from modbot.hashes import HASH_KINDS, Digest, compute_all

    kinds = list(dict.fromkeys(args.kind or HASH_KINDS))
    if args.format == "threatexchange":
        if args.kind and kinds != ["pdq"]:
            print(
                "modbot hash: --format threatexchange holds pdq hashes only "
                "(python-threatexchange has no photo type for the others)",
                file=sys.stderr,
            )
            return 2
        kinds = ["pdq"]
    status = 0
    rows: list[dict[str, Any]] = []
    for name in args.images:
        row: dict[str, Any] = {"file": name, "hashes": {}, "pdq_quality": None, "errors": {}}
        rows.append(row)
        try:
            data = _read_image_file(Path(name))
        except OSError as exc:
            row["errors"]["file"] = exc.strerror or str(exc)
            print(f"modbot hash: {name}: {row['errors']['file']}", file=sys.stderr)
            status = 1
            continue
        for kind, digest in compute_all(data, kinds).items():
            if isinstance(digest, Digest):
                row["hashes"][kind] = digest.hex
                if digest.quality is not None:
                    row["pdq_quality"] = digest.quality
            else:
                row["errors"][kind] = str(digest)
                print(f"modbot hash: {name}: no {kind}: {digest}", file=sys.stderr)
                status = 1
        row["hashes"] = {k: row["hashes"][k] for k in kinds if k in row["hashes"]}
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif args.format == "threatexchange":
        _print_threatexchange(rows)
    else:
        _print_text(rows, kinds, one_kind=args.kind is not None and len(kinds) == 1)
    return status


def _read_image_file(path: Path) -> bytes:
    if not path.is_file():
        raise OSError(f"not a regular file: {path}" if path.exists() else "no such file")
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise OSError(f"larger than {MAX_IMAGE_BYTES // 1_000_000} MB: not an image to hash")
    return path.read_bytes()


def _quality_note(row: dict[str, Any], kind: str) -> str:
    from modbot import pdq

    q = row["pdq_quality"]
    if kind != "pdq" or q is None:
        return ""
    if q < pdq.MIN_QUALITY:
        return f"  # quality {q}: below {pdq.MIN_QUALITY}, matches nothing"
    return f"  # quality {q}"


def _print_text(rows: list[dict[str, Any]], kinds: list[str], *, one_kind: bool) -> None:
    width = max(len(k) for k in kinds)
    for row in rows:
        for kind, value in row["hashes"].items():
            note = _quality_note(row, kind)
            if one_kind:
                print(f"{value}  {row['file']}{note}")
            else:
                print(f"{kind:<{width}}  {value}  {row['file']}{note}")


def _print_threatexchange(rows: list[dict[str, Any]]) -> None:
    from modbot import pdq
    from modbot.threatexchange_files import write_local_file

    usable = [
        ("pdq", r["hashes"]["pdq"])
        for r in rows
        if "pdq" in r["hashes"] and (r["pdq_quality"] or 0) >= pdq.MIN_QUALITY
    ]
    for r in rows:
        if "pdq" in r["hashes"] and (r["pdq_quality"] or 0) < pdq.MIN_QUALITY:
            print(
                f"modbot hash: {r['file']}: left out: PDQ quality {r['pdq_quality']} "
                f"is below {pdq.MIN_QUALITY}",
                file=sys.stderr,
            )
    exported = write_local_file(usable)
    sys.stdout.write(exported.text)
    for note in exported.notes:
        print(f"modbot hash: note: {note}", file=sys.stderr)
