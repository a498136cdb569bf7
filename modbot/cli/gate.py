"""`modbot gate`: the endpoint of pict-rs' external validation (``modbot.modes.gate``)."""

from __future__ import annotations

import argparse
from typing import Any

HELP = """\
Answer pict-rs before it stores a file: set pict-rs' PICTRS__MEDIA__EXTERNAL_VALIDATION
to http://HOST:PORT/validate/SECRET (SECRET: $MODBOT_GATE_SECRET, made with
--new-secret) and every upload, link thumbnail and first fetch of a proxied image is
decided here first. A file is an item of `type: incoming`: an allow-listed hash always
passes; a file modbot purged before (read from the state file, MODBOT_STATE) is
refused; then the rules of `type: incoming` decide, with `reject: true` (hash lists
first, then the classifier's verdict: in this process, or `classifier.remote` workers).

  POST /validate/SECRET  body: the file, Content-Type: its media type (as pict-rs sends)
                         -> 200 store it; 406 rejected (rule, hash, purged before);
                            413 over gate.max_bytes; 415 not an image or video type;
                            503 no verdict within gate.budget and gate.on_timeout: reject
                         (no secret: 401, a wrong one: 403, a peer that keeps trying: 429)
  POST /api/v1/scan/SECRET  the same (pictrs-safety's URL: a drop-in replacement); either
                         with a trailing slash too
  GET  /healthz          counters, latency, the classifier (no secret); 503, ok false
                         and why, once the classifier gave no verdict (down, failing)
                         on 5 files in a row, none since (a file every worker refused
                         itself, e.g. over their size limit, is not such a file; a
                         verdict from the cache, on a re-upload, is not one since),
                         or none within gate.budget on 5 files in a row (a classifier
                         that answers, too late), none in time since

A verdict must come within gate.budget (rules.yaml, default 10s), under what pict-rs
(PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT) and Lemmy (pictrs.upload_timeout in
lemmy.hjson, which counts pict-rs' own work on the file too) wait for an upload, 30s
each by default: --upload-timeout, the shorter of the two (raise both, and give it, for
a budget of 30s or more). A budget not under it is refused (exit 2), one within 10s of
it is warned of at start. The file's body must come within the budget too. Past the
budget, or with no classifier answering, gate.on_timeout decides: allow (store it; the
bot still checks it once it is posted) or reject. While the gate is not running
(stopped, restarting, loading its model) pict-rs fails every upload: gate.on_timeout
cannot apply. The files being received, decided or waiting for their verdict hold at most
fetch.max_bytes_held all together (rules.yaml, default 200 MB; gate.max_bytes if
larger); past it a file is not kept: its byte hashes and a cached verdict still decide,
else it gets gate.on_timeout at once. Every such
file is counted, logged, recorded and reported to the admins by private message (at
most every gate.report_every) when LEMMY_URL, LEMMY_USERNAME and LEMMY_PASSWORD are set.
Every file decided, refused or accepted, is recorded in the state file (SHA-256, size,
media type, time, scores, rule, answer and why; never the image: `modbot audit --all`,
`modbot report`; a file not read to its end, over gate.max_bytes, has no hash, and its
record says why and what size it claimed); verdicts go into the bot's verdict cache.
Environment: MODBOT_GATE_SECRET (required), MODBOT_RULES, MODBOT_STATE,
MODBOT_CLASSIFIER_TOKEN (classifier.remote).
SIGHUP reads the rules file (and the hash lists it names) again without stopping: edit
rules.yaml or a list, then `kill -HUP PID` (`docker compose kill -s HUP modbot-gate`);
uploads are answered meanwhile (one sent while the gate starts is kept: the rules are
read again once it answers). A file that is not valid, or that changes classifier: or
concepts: (a restart's job), or whose gate.budget is not under --upload-timeout, is not
taken: the log says why, and the gate goes on with the rules it had.
Exit status: 0 stopped by SIGTERM/Ctrl-C, 1 the rules, state file, classifier or Lemmy
login settings cannot be used, the address cannot be listened on (taken: another gate?)
or --port-file cannot be written, 2 a bad --listen, --port-file (its folder not there)
or secret, or gate.budget not under --upload-timeout.
"""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gate",
        help="pict-rs' upload gate: reject a file before it is stored (POST /validate/SECRET)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen",
        default="127.0.0.1:8096",
        metavar="HOST:PORT",
        help="address to listen on (default: %(default)s; in a container 0.0.0.0:8096 on "
        "the internal network only; port 0 picks a free port)",
    )
    p.add_argument(
        "--port-file",
        metavar="FILE",
        help="write the port listened on to FILE once listening (with --listen ...:0)",
    )
    p.add_argument("--rules", metavar="FILE", help="rules file (default: $MODBOT_RULES)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="refuse nothing: decide and record every file as usual, but answer pict-rs 200 "
        "(store it); what would have been refused is in the log, /healthz and `modbot report` "
        "(records marked dry_run, the reject action planned); the admins get no private "
        "message (their report is in the log; the live gate's reports, in the same state "
        "file, are left to it)",
    )
    p.add_argument(
        "--upload-timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="the shorter of pict-rs' PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT and Lemmy's "
        "pictrs.upload_timeout (lemmy.hjson; 10 before Lemmy 0.19) (default: %(default)g): "
        "gate.budget must be under it. Give it when you set either below its default, or "
        "both above theirs for a gate.budget of 30s or more (`modbot check-rules`, which "
        "cannot see it, holds the budget under 30s)",
    )
    p.add_argument(
        "--new-secret", action="store_true", help="print a new secret for MODBOT_GATE_SECRET"
    )
    p.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds, e.g. 30")
    return value


def run(args: argparse.Namespace) -> int:
    from modbot.modes.gate import SECRET_ENV, new_secret, serve

    if args.new_secret:
        secret = new_secret()
        print(f"{SECRET_ENV}={secret}")
        print(f"PICTRS__MEDIA__EXTERNAL_VALIDATION=http://<gate host>:8096/validate/{secret}")
        return 0
    return serve(
        args.listen,
        rules=args.rules,
        port_file=args.port_file,
        dry_run=args.dry_run,
        upload_timeout=args.upload_timeout,
    )
