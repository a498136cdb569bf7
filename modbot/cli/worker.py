"""`modbot worker`: the classifier as an HTTP service for bots (and gates) elsewhere."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifier.service import Client, WorkerConfig, WorkerService

from modbot.cli.common import Subparsers, at_least_one

log = logging.getLogger("modbot.worker")

DEFAULT_LISTEN = "127.0.0.1:8095"

# (its figures are classifier.service's constants, not imported here: that loads torch;
# tests/test_s34w_worker_help_keep_alive.py checks them)
HELP = """\
Serve the classifier over HTTP, so that bots without a GPU (a small instance's, or
several instances trusting one larger one) classify through this machine's model. The
model loads first; then the worker listens. Concurrent requests from every client share
the model's batches.

  POST /v1/classify  body: one image's bytes, Content-Type: its media type (not a
                     form: `curl --data-binary @photo.jpg`, not -F or -d)
                     -> 200 the verdict JSON the bot records (labels, scores, model,
                        concept_version, unreadable, ...). A body that does not decode as
                        an image gets a verdict with `unreadable` set, not an error.
  GET  /v1/info      -> model, concept version, whether DeepDanbooru runs, and limits
                     (a client's first request; a bot says at start that a worker
                     runs without DeepDanbooru)
  GET  /healthz      -> ok, model loaded, device, queue depth, images/s over the last
                        minute, counters (no token needed: for load balancers and Docker);
                        503, ok false and `problem` while the model has failed on the
                        last 5 images in a row (a GPU gone bad): restart the worker

Clients: every /v1 request needs `Authorization: Bearer TOKEN`. Give each client
instance its own token, with a name and a quota (images per minute), in a tokens file
(--tokens-file, else $MODBOT_WORKER_TOKENS_FILE) of lines

  NAME TOKEN QUOTA          e.g.  lemmy-small  sha256:9f86d08...  600

where TOKEN is the token or, better, `sha256:` and its SHA-256 in hex (the file then
holds no secret), and QUOTA a number or `unlimited`; `#` starts a comment. Or set
$MODBOT_WORKER_TOKENS to the same entries separated by `;`. `--new-token NAME` makes a
token and prints its line. A GET /v1/info counts as one image (it may build a concept
set); a request answered 503 counts as none. Answers: 401 missing or unknown token
(or one not sent as `Authorization: Bearer TOKEN`), 429 over the quota (with
Retry-After), 413 a body over --max-bytes, 408 a body that stops coming for 30 s or
takes over 120 s in all, 400 a bad concept set or a body sent as a form, 503 busy (over
--max-pending or --max-bytes-held) or the model failed (clients then try their next
worker). Tokens are kept as SHA-256 digests and never logged.

Memory: the worker stays within its steady size (the model and torch) +
--decode-memory (one budget for every concept set's decodes) + --max-bytes-held (image
bodies being received or waiting for their verdict, all requests together; a body that
would pass it is refused with 503 and the client tries its next worker).

Same verdicts as the bot's own model: start the worker with the model, --deepdanbooru
and --decode-memory its clients' rules.yaml would give `classifier:` (model,
deepdanbooru, decode_memory). They decide the verdicts and their concept version; a
bot's own settings of them are unused with `classifier.remote`.

Concept sets: a client may send its own custom concepts (header X-Modbot-Concepts: the
JSON of rules.yaml's `concepts:`, at most 8 KiB), or name a set this worker serves
(header X-Modbot-Concept-Set: NAME, from --concepts NAME=FILE). Each set has its own
engine, built on first use; at most --max-concept-sets sets sent by clients are built
at any moment (the least recently used one no request is using is dropped for a new
one; while every one is in use, a request for another waits up to 10 s, then gets
503). Every verdict's concept_version says which set and model it comes from.

Connections: a connection's request headers must all come within 10 s (its first
byte, or the connection itself, starts the clock; a late one gets 408 and is closed),
an idle keep-alive connection is closed after 120 s, and at most --max-pending + 64
connections are open at once (within `ulimit -n`, raised where the hard limit allows);
past it a new connection gets 503 and is closed. Each holds at most ~80 KB besides the
bodies counted in --max-bytes-held. The worker speaks plain HTTP: anywhere but a
private network put a TLS proxy in front, with its own limits on each client (nginx:
client_header_timeout 10s, client_body_timeout 30s, limit_conn per address,
client_max_body_size as --max-bytes, large_client_header_buffers 4 16k for the
concepts header): behind it every connection is the proxy's, so the worker's limits
bound the whole, the proxy's each client.

Nothing is kept but counters: no image is written to disk, no content is logged. The
worker holds no state, so several can run behind any HTTP load balancer; or list them
all in the bot's `classifier.remote` (tried in order, with failover).
"""


def add_parser(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "worker",
        help="serve the classifier over HTTP for bots elsewhere (POST /v1/classify)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    net = p.add_argument_group("listening")
    net.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help="address to listen on (default: %(default)s; 0.0.0.0:8095 in a "
        "container; port 0 picks a free port)",
    )
    net.add_argument(
        "--port-file",
        metavar="FILE",
        help="write the port listened on to FILE once listening (with --listen ...:0)",
    )
    auth = p.add_argument_group("clients")
    auth.add_argument(
        "--tokens-file",
        metavar="FILE",
        help="client tokens, lines `NAME TOKEN QUOTA` (default: "
        "$MODBOT_WORKER_TOKENS_FILE, else $MODBOT_WORKER_TOKENS)",
    )
    auth.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without tokens or quotas: anyone who reaches the port may "
        "use the model (only on a private network; not with client tokens given: "
        "--tokens-file, $MODBOT_WORKER_TOKENS_FILE or $MODBOT_WORKER_TOKENS)",
    )
    auth.add_argument(
        "--new-token",
        metavar="NAME",
        help="print a new token for client NAME and its tokens-file line, then exit",
    )
    auth.add_argument(
        "--quota",
        default="600",
        metavar="N",
        help="with --new-token: images per minute, or `unlimited` (default: %(default)s)",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model", default="ViT-L-14", help="open_clip model name (default: %(default)s)"
    )
    model.add_argument(
        "--pretrained",
        default="openai",
        help="open_clip pretrained tag; 'none' for none (default: %(default)s)",
    )
    model.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="local weights file or directory instead of the Hugging Face cache",
    )
    model.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA when present), cpu, cuda, cuda:N (default: %(default)s)",
    )
    model.add_argument(
        "--deepdanbooru",
        default="auto",
        metavar="auto|off|PATH",
        help="the anime second pass, as rules.yaml's classifier.deepdanbooru: auto (the "
        "weights where the bot looks for them, else off), off, or the weights file "
        "(default: %(default)s)",
    )
    model.add_argument(
        "--decode-memory",
        type=_decode_memory,
        default="1GB",
        metavar="SIZE",
        help="memory all image decodes share, as rules.yaml's classifier.decode_memory; an "
        "image that would need more is unreadable (default: %(default)s)",
    )
    model.add_argument(
        "--decode-processes",
        type=_decode_processes,
        default="auto",
        metavar="auto|N",
        help="processes that decode images, as rules.yaml's classifier.decode_processes: "
        "auto is one per core on a GPU (threads in one process cannot feed one) and none "
        "on a CPU; 0 decodes in threads (default: %(default)s)",
    )
    model.add_argument(
        "--views-in-processes",
        action="store_true",
        help="as rules.yaml's classifier.views_in_processes: on a GPU, each decoding "
        "process makes the reference's views itself (a CUDA context each), and only they "
        "come back to the worker's own process",
    )
    model.add_argument(
        "--allow-random-weights",
        action="store_true",
        help="accept random weights (tests and benchmarks only: verdicts are "
        "meaningless and marked random_weights=true)",
    )
    serving = p.add_argument_group("serving")
    serving.add_argument(
        "--batch-size",
        type=at_least_one("a whole number"),
        default=32,
        metavar="N",
        help="images per model batch (default: %(default)s)",
    )
    serving.add_argument(
        "--max-wait-ms",
        type=_wait_ms,
        default=10,
        metavar="MS",
        help="how long a batch waits for images still being decoded, 0 to 60000 "
        "(default: %(default)s)",
    )
    serving.add_argument(
        "--max-bytes",
        type=_max_bytes,
        default="40MiB",
        metavar="SIZE",
        help="largest image body accepted, e.g. 40MiB, at least 100KB (default: %(default)s, "
        "pict-rs' own default media.max_file_size: its 40 is in MiB)",
    )
    serving.add_argument(
        "--max-bytes-held",
        type=_size,
        default="1GB",
        metavar="SIZE",
        help="image bodies held at once by all requests, being received or waiting for "
        "their verdict; past it a request gets 503 (default: %(default)s; at least "
        "--max-bytes)",
    )
    serving.add_argument(
        "--max-pending",
        type=at_least_one("a whole number"),
        default=1024,
        metavar="N",
        help="requests in progress before answering 503 (default: %(default)s)",
    )
    serving.add_argument(
        "--concepts",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="serve a named concept set: FILE is JSON like rules.yaml's "
        '`concepts:` ({"gore": {"prompts": [...], "threshold": 0.23}}); repeatable',
    )
    serving.add_argument(
        "--max-concept-sets",
        type=at_least_one("a whole number"),
        default=4,
        metavar="N",
        help="concept sets sent by clients built at once, at most; each holds its text "
        "embeddings and a batch queue (default: %(default)s)",
    )
    p.set_defaults(func=run)


def _wait_ms(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    from classifier.engine import MAX_WAIT_MS  # the Engine's own limit

    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT_MS:  # (nan fails it)
        raise argparse.ArgumentTypeError(f"{text!r}: milliseconds, from 0 to {MAX_WAIT_MS}")
    return value


def _size(text: str) -> int:
    from modbot.config.units import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _max_bytes(text: str) -> int:
    """As the bot's own image size caps: at least 100KB. A number without a unit is
    bytes, and `--max-bytes 25` (meant: 25MB) would refuse every image (413), which
    each bot then records as classifier_error and never classifies."""
    from modbot.config.schema import MIN_IMAGE_CAP

    value = _size(text)
    if value < MIN_IMAGE_CAP:
        raise argparse.ArgumentTypeError(
            f"{value:,} bytes is less than nearly any image, so every image would be refused; "
            f"a number without a unit is bytes: write the unit, like {text.strip()}MB (at "
            "least 100KB)"
        )
    return value


def _decode_processes(text: str) -> int | None:
    """None for auto (classifier.engine.default_decode_processes)."""
    if text == "auto":
        return None
    if text.isdigit() and int(text) <= 64:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"expected auto or a number of processes from 0 to 64, got {text!r}"
    )


def _decode_memory(text: str) -> int:
    from classifier.budget import MIN_DECODE_MEMORY

    value = _size(text)
    if value < MIN_DECODE_MEMORY:  # as classifier.decode_memory
        raise argparse.ArgumentTypeError(
            f"{text!r} is too small to decode a photo; give at least 50MB"
        )
    return value


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8095 or [::]:8095")
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    if args.new_token:
        return _new_token(args.new_token, args.quota)
    import os

    from classifier.concepts import ConceptError
    from classifier.service import (
        TOKENS_ENV,
        TOKENS_FILE_ENV,
        TokenError,
        check_port_file,
        load_tokens,
    )

    # the tokens as given: the option, else the environment (as load_tokens reads them;
    # a container's are in its environment); named, never shown
    given = (
        "--tokens-file"
        if args.tokens_file
        else next(
            (f"${name}" for name in (TOKENS_FILE_ENV, TOKENS_ENV) if os.environ.get(name)), None
        )
    )
    if args.no_auth and given:
        # (one of them is a mistake: serving anyone, the tokens ignored, is the worse)
        print(
            "modbot worker: give --no-auth (no token needed: a private network only) or "
            f"client tokens ({given}: each client's token and quota), not both"
            + ("" if given == "--tokens-file" else f"; unset {given[1:]} to serve without tokens"),
            file=sys.stderr,
        )
        return 2
    try:
        host, port = _listen(args.listen)
        check_port_file(args.port_file)  # before the model loads, which takes a while
        named = _named_sets(args.concepts)
        clients = None if args.no_auth else load_tokens(args.tokens_file)
        config = worker_config(args, named, clients)  # checked before the model loads
    except (ValueError, TokenError, ConceptError) as exc:
        print(f"modbot worker: {exc}", file=sys.stderr)
        return 2
    if clients is None and not args.no_auth:
        print(
            "modbot worker: no client tokens: set MODBOT_WORKER_TOKENS_FILE (or use "
            "--tokens-file) to a file of `NAME TOKEN QUOTA` lines, make tokens with "
            "`modbot worker --new-token NAME`; or pass --no-auth on a private network",
            file=sys.stderr,
        )
        return 2
    if clients == []:
        print("modbot worker: the tokens file lists no client", file=sys.stderr)
        return 2
    return _serve(args, host, port, config)


def _new_token(name: str, quota: str) -> int:
    from classifier.service import TokenError, hash_token, new_token, parse_tokens

    token = new_token()
    line = f"{name} {hash_token(token)} {quota}"
    try:
        parse_tokens(line, "--new-token")
    except TokenError as exc:
        print(f"modbot worker: {str(exc).split(': ', 1)[1]}", file=sys.stderr)
        return 2
    print(
        f"token for {name} (give it to that client as MODBOT_CLASSIFIER_TOKEN; it is not stored "
        "anywhere, keep it secret):"
    )
    print(f"  {token}")
    print("line for the worker's tokens file (MODBOT_WORKER_TOKENS_FILE):")
    print(f"  {line}")
    return 0


def _named_sets(specs: list[str]) -> dict:
    import json

    from classifier.concepts import ConceptError
    from classifier.service import parse_concepts

    named = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--concepts {spec!r}: expected NAME=FILE")
        if name in named:
            raise ValueError(f"--concepts: the set {name!r} is given twice")
        try:
            # (-sig: a byte-order mark, Windows Notepad's, is not JSON's first character)
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ValueError(
                f"--concepts {name}: cannot read {path}: {exc.strerror or exc}"
            ) from None
        except (ValueError, RecursionError) as exc:  # nested too deep: RecursionError
            raise ValueError(f"--concepts {name}: {path} is not valid JSON: {exc}") from None
        named[name] = parse_concepts(data, where=path)
        if not named[name]:
            raise ConceptError(f"--concepts {name}: {path} defines no concept")
    return named


def worker_config(
    args: argparse.Namespace, named: dict[str, Any], clients: list[Client] | None
) -> WorkerConfig:
    """How the worker serves, from its command line."""
    from classifier.service import WorkerConfig

    return WorkerConfig(
        clients=clients,
        max_body=args.max_bytes,
        max_bytes_held=args.max_bytes_held,
        named_sets=named,
        max_concept_sets=args.max_concept_sets,
        max_pending=args.max_pending,
        max_batch=args.batch_size,
        max_wait_ms=args.max_wait_ms,
        decode_memory=args.decode_memory,
        decode_processes=args.decode_processes,
        views_in_processes=args.views_in_processes,
    )


def build_service(args: argparse.Namespace, config: WorkerConfig) -> WorkerService:
    """The model, DeepDanbooru (as the bot resolves classifier.deepdanbooru) and the
    service serving by ``config`` (``worker_config``), from the command line. Raises
    ``ModelError`` or ``DeepDanbooruError``."""
    from classifier.deepdanbooru import load_deepdanbooru
    from classifier.model import ModelSpec, load_model
    from classifier.service import WorkerService

    spec = ModelSpec(
        name=args.model,
        pretrained=None if args.pretrained.lower() in ("", "none") else args.pretrained,
        checkpoint=args.checkpoint,
        device=args.device,
        allow_random_weights=args.allow_random_weights,
    )
    loaded = load_model(spec)
    danbooru = load_deepdanbooru(
        args.deepdanbooru, loaded.device, allow_random_weights=args.allow_random_weights
    )
    return WorkerService(loaded, config, danbooru=danbooru)


def _serve(args: argparse.Namespace, host: str, port: int, config: WorkerConfig) -> int:
    from classifier.model import ModelError
    from classifier.service import WorkerServer, bind_socket, write_port_file

    try:
        service = build_service(args, config)
    except ModelError as exc:  # DeepDanbooruError included
        print(f"modbot worker: the classifier cannot start: {exc}", file=sys.stderr)
        return 1
    loaded = service.loaded
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        service.close()
        print(
            f"modbot worker: cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    try:
        server = WorkerServer(service, sock)
        who = (
            "no token needed (--no-auth)"
            if config.clients is None
            else f"{len(config.clients)} client token(s)"
        )
        print(
            f"modbot worker: {loaded.identity} on {loaded.device}, listening on {server.url} "
            f"({who}; DeepDanbooru {'on' if service.default_engine.danbooru else 'off'}; "
            f"concept version {service.default_engine.concept_version})",
            flush=True,
        )
        server.stop_on_signals()
        if args.port_file:
            failed = write_port_file(args.port_file, server.address[1])
            if failed:
                print(f"modbot worker: {failed}", file=sys.stderr)
                return 1
        server.run()  # until SIGTERM or Ctrl-C: the requests in hand are answered first
    finally:
        service.close()
        sock.close()
    log.info("worker stopped")
    return 0
