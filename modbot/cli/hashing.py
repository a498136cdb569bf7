"""The hash-sharing commands: `modbot hash` (every kind of hash of image files), `modbot
keys` (the instance's signing key pair), `modbot confirm` (an admin's verdict on a
recorded decision), `modbot feed publish|verify` (the signed feed of confirmed hashes).
See docs/hash-sharing.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from modbot.cli.common import Subparsers

if TYPE_CHECKING:
    from datetime import timedelta

    from modbot.feeds import VerifiedFeed

MAX_IMAGE_BYTES = 200_000_000  # an image file given to `modbot hash`


def add_parser(subparsers: Subparsers) -> None:
    _add_hash(subparsers)
    _add_keys(subparsers)
    _add_confirm(subparsers)
    _add_feed(subparsers)


# --- modbot hash ----------------------------------------------------------------------------


def _add_hash(subparsers: Subparsers) -> None:
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
            "sha256sum; a PDQ below quality 50 is a comment there); json prints one array of {file, hashes, pdq_quality, errors, not_taken}; "
            "threatexchange prints python-threatexchange local_file lines ('pdq HASH'), "
            "PDQ only. Exit status: 0 every hash computed (a hash not taken by design is no "
            "error: a picture of one colour all over has no pHash, said on stderr and in "
            "json's not_taken), 1 some file could not be read "
            "(reading it ran out of memory too: try again) or is not an image a perceptual kind can decode (the other kinds still print), "
            "or a kind's code ran out of memory on it (the other kinds still print: try again), "
            "2 the command line is wrong (e.g. --format threatexchange with a --kind "
            "other than pdq)."
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
    from modbot.hashes import HASH_KINDS, Digest, HashNotTaken, compute_all

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
    for path in args.images:
        name = _shown(path)
        row: dict[str, Any] = {
            "file": path,
            "hashes": {},
            "pdq_quality": None,
            "errors": {},
            "not_taken": {},
        }
        rows.append(row)
        try:
            data = _read_image_file(Path(path))
        except OSError as exc:
            row["errors"]["file"] = exc.strerror or str(exc)
            print(f"modbot hash: {name}: {row['errors']['file']}", file=sys.stderr)
            status = 1
            continue
        # one kind at a time: a kind whose code runs out of memory (compute_all raises
        # it: it says nothing of the file) has no hash this time, the others print
        digests: dict[str, Any] = {}
        for kind in kinds:
            try:
                digests.update(compute_all(data, [kind]))
            except MemoryError as exc:
                said = f"MemoryError: {exc}" if str(exc) else "MemoryError"
                digests[kind] = f"out of memory ({said}), try again"
        for kind, digest in digests.items():
            if isinstance(digest, Digest):
                row["hashes"][kind] = digest.hex
                if digest.quality is not None:
                    row["pdq_quality"] = digest.quality
            elif isinstance(digest, HashNotTaken):
                # read and hashed: this kind takes none of it by design (a picture of one
                # colour has no pHash), as a PDQ below quality 50 matches nothing: exit 0
                row["not_taken"][kind] = str(digest)
                print(f"modbot hash: {name}: no {kind}: {digest}", file=sys.stderr)
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


def _shown(name: str) -> str:
    """A file's name on one line: a line break in it (or another unprintable
    character, or a byte that is not UTF-8) escaped, as ``\\n``. Else a name an uploader
    chose would put a line of its choosing, a hash, into the list file printed."""
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


class _ReadOutOfMemory(OSError):
    """Reading an image file ran out of memory (it is read whole, up to
    ``MAX_IMAGE_BYTES``; a low memory bound refuses that): an OSError, so the callers
    say it in their one line for a file they cannot read, never a traceback."""


def _read_image_file(path: Path) -> bytes:
    if not path.is_file():
        raise OSError(f"not a regular file: {path}" if path.exists() else "no such file")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise OSError(f"larger than {MAX_IMAGE_BYTES // 1_000_000} MB: not an image to hash")
    try:
        return path.read_bytes()
    except MemoryError:
        # says nothing of the file: another time, with more memory free, it reads
        raise _ReadOutOfMemory(
            f"out of memory reading it ({size:,} bytes), try again with more memory free"
        ) from None


def _quality_note(row: dict[str, Any], kind: str) -> str:
    from modbot import pdq

    q = row["pdq_quality"]
    if kind != "pdq" or q is None:
        return ""
    if q < pdq.MIN_QUALITY:
        return f"  # quality {q}: below {pdq.MIN_QUALITY}, matches nothing"
    return f"  # quality {q}"


def _print_text(rows: list[dict[str, Any]], kinds: list[str], *, one_kind: bool) -> None:
    from modbot import pdq

    width = max(len(k) for k in kinds)
    for row in rows:
        for kind, value in row["hashes"].items():
            note = _quality_note(row, kind)
            if one_kind:
                # a list file: a PDQ below quality 50 goes in as a comment, not an entry
                # (a list entry of known low quality is not used, as in a feed)
                unusable = kind == "pdq" and (row["pdq_quality"] or 0) < pdq.MIN_QUALITY
                print(f"{'# ' if unusable else ''}{value}  {_shown(row['file'])}{note}")
            else:
                print(f"{kind:<{width}}  {value}  {_shown(row['file'])}{note}")


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


# --- modbot keys ----------------------------------------------------------------------------


def _add_keys(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "keys",
        help="make the key pair that signs this instance's hash feed",
        description=(
            "Make an Ed25519 key pair for `modbot feed publish`: the private key at FILE "
            "(PEM, mode 0600: readable by its owner only; it is never printed) and the "
            "public key at FILE.pub, printed too: give it to the admins who subscribe to "
            "your feed (they put it in their rules.yaml). An existing key is kept unless "
            "--force: a new key means every subscriber must change theirs. "
            "Exit status: 0 made, 1 not (the message says why)."
        ),
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        default="feed.key",
        help="the private key file (default: %(default)s)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing key")
    p.set_defaults(func=run_keys)


def run_keys(args: argparse.Namespace) -> int:
    from modbot.feeds import generate_key

    try:
        public = generate_key(args.out, overwrite=args.force)
    except OSError as exc:
        return _cannot("keys", exc, args.out)
    print(f"private key: {args.out} (mode 0600: keep it, back it up, never share it)")
    print(f"public key:  {args.out}.pub")
    print(public)
    return 0


# --- modbot confirm -------------------------------------------------------------------------


def _add_confirm(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "confirm",
        help="mark a recorded decision's image confirmed bad or innocent (for the feed)",
        description=(
            "Record an admin's verdict on an image modbot has decided on, named by its "
            "SHA-256 (the decision record's image.sha256, in reports) or by a decision id: "
            "--bad (confirmed abusive) or --innocent (a false positive). Only confirmed "
            "images go into the feed `modbot feed publish` writes; the classifier alone "
            "never publishes. The hashes published are those modbot recorded for the "
            "image; --image FILE (the very file, e.g. saved from the report's link) adds "
            "every kind, PDQ with its quality. Confirming again replaces the verdict; "
            "--withdraw removes it. Reads MODBOT_STATE. "
            "Exit status: 0 recorded, 1 not (the message says why)."
        ),
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("sha256", nargs="?", help="the image's SHA-256")
    which.add_argument("--decision", type=int, metavar="ID", help="a decision's id")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--bad", action="store_const", const="bad", dest="verdict")
    verdict.add_argument("--innocent", action="store_const", const="innocent", dest="verdict")
    verdict.add_argument("--withdraw", action="store_true", help="remove the confirmation")
    p.add_argument(
        "--label",
        default="",
        help="a short category published with it: lower-case letters, digits, - and _ "
        "(default: abuse for --bad, false-positive for --innocent); never a URL or a name",
    )
    p.add_argument("--image", metavar="FILE", help="the image file itself: every kind of hash")
    p.set_defaults(func=run_confirm)


def run_confirm(args: argparse.Namespace) -> int:
    from modbot.cli.common import state_path
    from modbot.sharing import confirm
    from modbot.store import Store

    try:
        image = _read_image_file(Path(args.image)) if args.image else None
    except OSError as exc:
        return _cannot("confirm", exc, args.image)
    store = Store(state_path())
    try:
        done = confirm(
            store,
            sha256=args.sha256,
            decision_id=args.decision,
            verdict=None if args.withdraw else args.verdict,
            label=args.label,
            image=image,
        )
    finally:
        store.close()
    decisions = ", ".join(map(str, done["decisions"]))
    if done["verdict"] is None:
        print(f"withdrawn: {done['sha256']} (decisions {decisions})")
        return 0
    kinds = ", ".join(sorted(done["hashes"]))
    print(
        f"confirmed {done['verdict']} ({done['label']}): {done['sha256']}; "
        f"first seen {done['first_seen']}; decisions {decisions}; hashes: {kinds}"
    )
    return 0


# --- modbot feed publish|verify -------------------------------------------------------------


def _add_feed(subparsers: Subparsers) -> None:
    from modbot.cli.common import age
    from modbot.hashes import HASH_KINDS

    p = subparsers.add_parser(
        "feed",
        help="publish this instance's signed hash feed, or verify one",
        description="The signed feed of confirmed hashes (docs/hash-sharing.md).",
    )
    sub = p.add_subparsers(dest="feed_command", metavar="publish|verify", required=True)
    pub = sub.add_parser(
        "publish",
        help="write the signed feed of every confirmed image",
        description=(
            "Write the feed of every image an admin confirmed (`modbot confirm`): each "
            "hash with its kind, verdict, label and first-seen date, and nothing else (no "
            "URL, image, user or post), to FILE, and its Ed25519 signature to FILE.sig. "
            "Serve both from any static web server (HTTPS); publish again after "
            "confirming more (e.g. from cron). Reads MODBOT_STATE. A feed with no "
            "entries never replaces one with entries (subscribers would drop them all) "
            "unless --allow-empty. Exit status: 0 written, 1 not (the message says why)."
        ),
    )
    pub.add_argument(
        "--key",
        metavar="FILE",
        default="feed.key",
        help="the private key `modbot keys` wrote (default: %(default)s, as `modbot keys` "
        "writes it)",
    )
    pub.add_argument("--out", required=True, metavar="FILE", help="the feed file, e.g. hashes.json")
    pub.add_argument(
        "--instance",
        help="this instance's host as subscribers name it (default: the host of LEMMY_URL, "
        "unless that is an internal name such as Docker's lemmy:8536)",
    )
    pub.add_argument(
        "--kind",
        action="append",
        choices=list(HASH_KINDS),
        help="publish only this kind of hash (repeatable; default: every kind recorded)",
    )
    pub.add_argument(
        "--allow-empty",
        action="store_true",
        help="write the feed even with no entries over one that has some, e.g. after "
        "withdrawing every confirmation (every subscriber then drops them all)",
    )
    pub.set_defaults(func=run_publish)
    ver = sub.add_parser(
        "verify",
        help="check a feed (URL or file) and its signature against a public key",
        description=(
            "Download (with the bot's safe fetcher and its limits for a feed: 32 MB, 2 "
            "minutes for the feed and its signature in all, both once more when the feed "
            "changed between them) or read a feed and its signature "
            "(URL.sig / FILE.sig) and check them as a subscriber does: the key, the "
            "signature, the format, the instance, the age. Prints the entries' counts, "
            "or why the feed is refused. Exit status: 0 valid, 1 refused."
        ),
    )
    ver.add_argument("feed", metavar="URL|FILE")
    ver.add_argument(
        "--key",
        required=True,
        metavar="KEY|FILE",
        help="the publisher's public key: ed25519:... or the file `modbot keys` wrote "
        "it to (FILE.pub)",
    )
    ver.add_argument("--instance", help="the publisher's host (default: not checked)")
    ver.add_argument(
        "--max-age",
        type=age,
        default="7d",
        help="how old the feed may be (default: %(default)s)",
    )
    ver.add_argument(
        "--allow-host",
        action="append",
        default=[],
        type=_host_entry,
        metavar="HOST[:PORT]",
        help="a feed host on a private address to fetch from all the same (repeatable), "
        "as the bot's fetch.allow_hosts: a peer reached over a VPN",
    )
    ver.set_defaults(func=run_verify)


def _host_entry(value: str) -> str:
    from modbot.fetch import parse_host_entry

    try:
        parse_host_entry(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def run_publish(args: argparse.Namespace) -> int:
    import os

    from modbot.cli.common import state_path
    from modbot.sharing import publish
    from modbot.store import Store

    instance = args.instance or _host(urlsplit(os.environ.get("LEMMY_URL", "")))
    if not instance:
        print("modbot feed publish: give --instance HOST (or set LEMMY_URL)", file=sys.stderr)
        return 1
    if not args.instance and "." not in instance.rsplit(":", 1)[0]:
        # Docker's http://lemmy:8536, localhost: subscribers fetch the feed by another
        # name, and a feed naming this one they all refuse (wrong instance)
        print(
            f"modbot feed publish: LEMMY_URL's host {instance!r} is no public host name (an "
            "internal URL?): give --instance HOST, the host subscribers fetch your feed from",
            file=sys.stderr,
        )
        return 1
    store = Store(state_path())
    try:
        done = publish(
            store,
            instance=instance.lower(),
            key_path=args.key,
            out=args.out,
            kinds=args.kind,
            allow_empty=args.allow_empty,
        )
    except FileNotFoundError as exc:
        if exc.filename is not None and str(exc.filename) == str(args.key):
            print(
                f"modbot feed publish: no private key at {args.key}: make one with "
                "`modbot keys` (or give --key FILE)",
                file=sys.stderr,
            )
            return 1
        return _cannot("feed publish", exc, args.out)
    except OSError as exc:  # the key, or the folder of --out
        return _cannot("feed publish", exc, args.out)
    except ValueError as exc:  # e.g. --instance not a host name
        print(f"modbot feed publish: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    for kind, value, why in done.left_out:
        print(f"left out: {kind} {value}: {why}", file=sys.stderr)
    print(f"wrote {done.feed_path} ({done.entries} entries) and {done.signature_path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from collections import Counter

    from modbot.feeds import public_key_argument, verify_feed_files

    try:
        key = public_key_argument(args.key)
    except OSError as exc:
        return _cannot("feed verify", exc, args.key)
    max_age = args.max_age  # a timedelta: argparse applies the type to the default too
    if args.feed.startswith(("http://", "https://")):
        from modbot.fetch import PrivateAddress, redact
        from modbot.subscriptions import private_feed_advice

        try:
            verified = _fetch_and_verify(
                args.feed, key, instance=args.instance, max_age=max_age, hosts=args.allow_host
            )
        except PrivateAddress as exc:
            # the fetcher's advice is for images; this command's is --allow-host, and
            # an address the feed's host redirected to is said to be one (as the bot's
            # subscription says it): allowing it lets a peer's redirect into this network
            why, advice = private_feed_advice(exc, args.feed, "give --allow-host {entry}")
            print(
                f"modbot feed verify: {exc.reason}: {why} ({redact(exc.url)}){advice} "
                "(the bot: fetch.allow_hosts in rules.yaml)",
                file=sys.stderr,
            )
            return 1
    else:
        try:
            verified = verify_feed_files(args.feed, key, instance=args.instance, max_age=max_age)
        except OSError as exc:
            return _cannot("feed verify", exc, args.feed)
    counts = Counter((e.kind, e.verdict) for e in verified.feed.entries)
    feed = verified.feed
    print(
        f"valid: {feed.instance}, generated {feed.generated_at:%Y-%m-%d %H:%M} UTC, "
        f"{len(feed.entries)} entries, signed by {verified.key}"
    )
    for (kind, verdict), n in sorted(counts.items()):
        print(f"  {kind} {verdict}: {n}")
    if verified.ignored:
        print(f"  ignored: {verified.ignored} PDQ entries below quality 50")
    if verified.plain:  # a plain picture's pHash (HASHING 4-5), and those near it
        n = verified.plain
        print(
            f"  left out: {n} pHash {'entry' if n == 1 else 'entries'} of a picture of one "
            "colour (they would match plain pictures, not one)"
        )
    if n := verified.weak_innocent:  # a collision would spare another file
        print(
            f"  not taken: {n} innocent MD5/SHA-1 {'entry' if n == 1 else 'entries'} (a file "
            "made to collide with one would be spared; innocent is taken by SHA-256)"
        )
    if verified.skipped:
        print(f"  skipped: {verified.skipped_note}: upgrade modbot to use them")
    return 0


def _fetch_and_verify(
    url: str, key: str, *, instance: str | None, max_age: timedelta, hosts: list[str]
) -> VerifiedFeed:
    """The feed at ``url`` downloaded and verified as a subscriber does it
    (``modbot.subscriptions.fetch_feed``: its limits and refusal words, the signature
    beside the feed behind the same query, one deadline for the whole try, and both
    files fetched once more when the feed changed between the two downloads)."""
    from modbot.subscriptions import feed_limits, fetch_feed

    fetched = fetch_feed(
        url, key, instance=instance, max_age=max_age, allowed_hosts=hosts, limits=feed_limits()
    )
    assert fetched is not None  # no conditional request
    return fetched[0]


def _cannot(command: str, exc: OSError, path: str) -> int:
    """One line for a file that cannot be opened or written, instead of a traceback."""
    print(f"modbot {command}: {exc.filename or path}: {exc.strerror or exc}", file=sys.stderr)
    return 1


def _host(url: SplitResult) -> str:
    """The host (and port) of a URL, without the user and password a netloc may hold."""
    try:
        port = url.port
    except ValueError:
        port = None
    host = url.hostname or ""
    return f"{host}:{port}" if host and port else host
