"""Prometheus metrics of the daemon (``modbot run --metrics-port PORT``).

The daemon feeds :class:`Metrics` once a cycle, on its own thread, from what the cycle
returns (``model.CycleStats``) and the state it leaves (the safety valve, the posts to
look at again, a sweep under way): a scrape only reads the numbers, never the state
file nor Lemmy. The metrics live in a registry of their own (not prometheus-client's
global one), served by prometheus-client's small HTTP server on a thread of its own.

Every label's values come from a closed set: action kinds and outcomes, skip reasons
(a remote host's HTTP status among a few codes, or its class: ``skip_label``), the
policy's concept names. No URL, name, token or password is ever a label or a value.
No ``*_created`` series either (one per series, doubling them; nothing reads them).
The names and what each means are in docs/metrics.md.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from threading import Thread
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from modbot.errors import SettingsError
from modbot.model import ALREADY_DONE, REPEAT

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from modbot.model import CycleStats

__all__ = [
    "DEFAULT_ADDRESS",
    "Metrics",
    "MetricsServer",
    "ValveState",
    "parse_port",
    "skip_label",
]

log = logging.getLogger("modbot.metrics")

DEFAULT_ADDRESS = "127.0.0.1"  # the host only: put a proxy or a firewall rule in front
PREFIX = "modbot"
# A cycle is a poll (seconds) plus a sweep slice (up to half the poll interval).
CYCLE_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# The outcomes an action is counted under from the first cycle on (a counter that first
# appears at 1 hides that first increase from rate() and increase()): as the reports say
# them (``model.action_outcome``), so that a dashboard tells an action done before
# (already_done) or the same as another decision's (repeat) from one not taken (skipped).
ACTION_STATUSES = (
    "done",
    "planned",
    "failed",
    "skipped",
    "not_possible",
    "covered",
    ALREADY_DONE,
    REPEAT,
)
# Skip reasons no rule names (so not among the daemon's `skip_reasons`), counted from the
# first cycle on too: no worker of classifier.remote answered, an item not as Lemmy sends,
# no verdict and no reason (pipeline), a file modbot purged already (pipeline).
ALWAYS_SKIP_REASONS = ("classifier_unavailable", "malformed_item", "unchecked", "purged")
# A download's HTTP status (the skip reason `http_<status>`) is whatever the host sent
# (any of 300-999 reaches httpx): a series each would let hosts add ~700. These codes,
# those an admin tells apart, keep their own; any other is counted as its class, and one
# outside 3xx-5xx as `http_other`. All are listed from the first cycle on. The decision's
# record keeps the status itself.
HTTP_STATUSES = (400, 401, 403, 404, 410, 429, 451, 500, 502, 503, 504)
HTTP_CLASSES = ("http_3xx", "http_4xx", "http_5xx")
HTTP_OTHER = "http_other"
HTTP_SKIP_LABELS = (*(f"http_{code}" for code in HTTP_STATUSES), *HTTP_CLASSES, HTTP_OTHER)
_HTTP_STATUS = re.compile(r"http_(\d+)")
# What a verdict's label outside the policy's is counted as: a `use: classified` feed's
# label is the peer's own word, and a series each would let a peer add series without
# bound. No concept (a letter first) nor feed label (a letter or digit first) is named so.
OTHER_LABEL = "_other"


@dataclass(frozen=True)
class ValveState:
    """The safety valve after a cycle: tripped (report-only), the destructive actions
    counted in its window (the last hour, since the last reset), and its limit."""

    tripped: bool
    in_window: int
    limit: int


class Metrics:
    """The daemon's metrics, in a registry of their own."""

    def __init__(
        self,
        *,
        dry_run: bool,
        labels: Iterable[str] = (),
        actions: Iterable[str] = (),
        skip_reasons: Iterable[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        # prometheus-client's switch is for the process, whose only metrics these are
        disable_created_metrics()
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry

        def counter(name: str, doc: str, labelnames: tuple[str, ...] = ()) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, labelnames, registry=r)

        def gauge(name: str, doc: str, labelnames: tuple[str, ...] = ()) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", doc, labelnames, registry=r)

        info = gauge("info", "modbot's version and mode (live or dry_run); always 1",
                     ("version", "mode"))  # fmt: skip
        info.labels(version=_version(), mode="dry_run" if dry_run else "live").set(1)
        self.cycles = counter("cycles", "Daemon cycles (a poll and a sweep slice), by result",
                              ("result",))  # fmt: skip
        self.cycle_seconds = Histogram(
            f"{PREFIX}_cycle_duration_seconds",
            "How long a daemon cycle took (a poll and a sweep slice)",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.last_success = gauge(
            "last_success_timestamp_seconds",
            "When this process's last good cycle ended (Unix time); 0 until its first",
        )
        self.items = counter("items", "Posts, comments and uploads looked at")
        self.images = counter("images", "Images found in the items looked at")
        self.classified = counter("images_classified", "Images the classifier looked at")
        self.cache_hits = counter(
            "verdict_cache_hits", "Images whose verdict came from the verdict cache"
        )
        self.not_downloaded = counter(
            "images_not_downloaded",
            "Of the cache hits, files known already and not downloaded again",
        )
        self.decisions = counter("decisions", "Decisions recorded (one per image of an item)")
        self.verdicts = counter(
            "verdicts", "Images on which a classifier label fired, by label", ("label",)
        )
        self.actions = counter(
            "actions", "Actions of the rules, by kind and outcome", ("kind", "status")
        )
        self.skips = counter("skips", "Images not checked, by reason", ("reason",))
        self.requests = counter("lemmy_requests", "Requests sent to Lemmy's API")
        self.valve_tripped = gauge(
            "safety_valve_tripped", "1 while the safety valve holds the bot to report-only"
        )
        self.valve_in_window = gauge(
            "safety_valve_destructive_actions",
            "Destructive actions the safety valve counts now (the last hour, since a reset)",
        )
        self.valve_limit = gauge(
            "safety_valve_limit", "The most destructive actions allowed within an hour"
        )
        self.retry = gauge(
            "items_waiting",
            "Posts and profile images to look at again next cycle (an action failed for "
            "now, or no classifier answered)",
        )
        self.sweep = gauge(
            "sweep_pending",
            "1 while a requested backlog sweep (schedule.sweep_cron) is not finished",
        )
        self.store_sweep = gauge(
            "store_sweep_pending",
            "1 while a requested store sweep (schedule.store_sweep_cron) is not finished",
        )
        self.memory_peak = gauge(
            "memory_peak_bytes", "The most memory held at once in the last cycle, by budget",
            ("budget",),
        )  # fmt: skip
        self.memory_budget = gauge(
            "memory_budget_bytes", "The memory budget, by budget", ("budget",)
        )
        for result in ("ok", "failed"):
            self.cycles.labels(result=result)
        self._labels = frozenset(labels)
        for label in (*self._labels, OTHER_LABEL):
            self.verdicts.labels(label=label)
        for kind in actions:
            for status in ACTION_STATUSES:
                self.actions.labels(kind=kind, status=status)
        for reason in (*skip_reasons, *ALWAYS_SKIP_REASONS, *HTTP_SKIP_LABELS):
            self.skips.labels(reason=skip_label(reason))

    def cycle_done(self, seconds: float, stats: Iterable[CycleStats]) -> None:
        """A good cycle: its poll's and sweep slice's counts. Each has its own memory
        peak (a budget's peak is counted afresh after each): the cycle's is the larger."""
        self._count(stats)
        self.cycles.labels(result="ok").inc()
        self.cycle_seconds.observe(seconds)
        self.last_success.set(time.time())

    def cycle_failed(self, seconds: float, stats: Iterable[CycleStats] = ()) -> None:
        """A cycle that failed; `stats`: what it finished first (a poll whose sweep slice
        then failed), its actions done and recorded, counted all the same."""
        self._count(stats)
        self.cycles.labels(result="failed").inc()
        self.cycle_seconds.observe(seconds)

    def _count(self, stats: Iterable[CycleStats]) -> None:
        memory: dict[str, tuple[int, int]] = {}
        for s in stats:
            self.items.inc(s.items_seen)
            self.images.inc(s.images_found)
            self.classified.inc(s.images_classified)
            self.cache_hits.inc(s.cache_hits)
            self.not_downloaded.inc(s.not_downloaded)
            self.decisions.inc(s.decisions)
            self.requests.inc(s.requests)
            for label, n in s.verdicts.items():
                known = label if label in self._labels else OTHER_LABEL
                self.verdicts.labels(label=known).inc(n)
            # by outcome as the reports say it; stats counted by hand have the statuses only
            for key, n in (s.outcomes or s.actions).items():
                kind, _, status = key.partition(":")
                self.actions.labels(kind=kind, status=status).inc(n)
            for reason, n in s.skipped.items():
                self.skips.labels(reason=skip_label(reason)).inc(n)
            for budget, (peak, total) in (
                ("decoding", s.decode_memory),
                ("downloads", s.download_memory),
            ):
                if total:
                    before = memory.get(budget, (0, 0))
                    memory[budget] = (max(before[0], peak), max(before[1], total))
        for budget, (peak, total) in memory.items():
            self.memory_peak.labels(budget=budget).set(peak)
            self.memory_budget.labels(budget=budget).set(total)

    def state(
        self,
        valve: ValveState,
        *,
        items_waiting: int,
        sweep_pending: bool,
        store_sweep_pending: bool,
    ) -> None:
        """What the cycle left: the valve, the posts to look at again, the sweeps under way."""
        self.valve_tripped.set(1 if valve.tripped else 0)
        self.valve_in_window.set(valve.in_window)
        self.valve_limit.set(valve.limit)
        self.retry.set(items_waiting)
        self.sweep.set(1 if sweep_pending else 0)
        self.store_sweep.set(1 if store_sweep_pending else 0)

    def serve(self, port: int, address: str = DEFAULT_ADDRESS) -> MetricsServer:
        """Serve ``/metrics`` (any path, as prometheus-client does) on ``address:port``;
        port 0 takes a free one (the log line says which)."""
        from prometheus_client import start_http_server

        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]  # [::] as a URL (and `gate --listen`) writes it
        try:
            server, thread = start_http_server(port, addr=address, registry=self.registry)
        except OSError as exc:
            raise SettingsError(
                f"cannot serve metrics on {address}:{port}: {exc.strerror or exc} "
                f"({_serve_hint(exc)})"
            ) from exc
        running = MetricsServer(server, thread)
        log.info("metrics on %s", running.url)
        return running


def skip_label(reason: str) -> str:
    """The ``reason`` label a skip is counted under: itself, but an HTTP status other
    than ``HTTP_STATUSES`` as its class (``http_4xx``), or ``http_other``."""
    match = _HTTP_STATUS.fullmatch(reason)
    if match is None:
        return reason
    status = int(match[1])
    if status in HTTP_STATUSES:
        return f"http_{status}"
    return f"http_{status // 100}xx" if 300 <= status < 600 else HTTP_OTHER


class MetricsServer:
    """prometheus-client's HTTP server, on its thread; ``close()`` stops it."""

    def __init__(self, server: WSGIServer, thread: Thread) -> None:
        self._server, self._thread = server, thread
        host, port = server.server_address[:2]
        self.port = int(port)
        host = str(host)
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def _serve_hint(exc: OSError) -> str:
    """What to do when the metrics' port cannot be opened, by why."""
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return (
            "not an address of this host: give one it has with --metrics-address or "
            "MODBOT_METRICS_ADDRESS, 127.0.0.1 (this host only) or 0.0.0.0 in a container"
        )
    if exc.errno == errno.EACCES:
        return (
            "a port under 1024 needs privileges modbot should not have: choose one above "
            "with --metrics-port or MODBOT_METRICS_PORT"
        )
    return "another process on that port? choose another with --metrics-port or MODBOT_METRICS_PORT"


def parse_port(text: str, source: str) -> int:
    """A port number (0: any free one), or ``SettingsError`` naming ``source``."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise SettingsError(f"{source} must be a port number (0-65535), got {text!r}")
    return port


def _version() -> str:
    try:
        return metadata.version("lemmy-modbot")
    except metadata.PackageNotFoundError:
        return "unknown"
