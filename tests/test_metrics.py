"""`modbot run --metrics-port`: the daemon's Prometheus metrics, scraped over HTTP from
`python -m modbot run` against the fake Lemmy after a cycle that acted."""

from __future__ import annotations

import re
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families
from support.bot import Bot, Lines, remote_photo, sha, stop_daemon, wait_for
from support.policies import BAD, write_rules


def scrape(url: str) -> tuple[dict[tuple[str, tuple], float], str]:
    """(name, sorted labels) -> value of every sample, and the page."""
    page = httpx.get(url, timeout=10).text
    samples = {}
    for family in text_string_to_metric_families(page):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, page


def value(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def start_daemon(bot: Bot, *args: str):
    daemon = bot.start("run", *args)
    err = Lines(daemon.stderr)
    wait_for(lambda: err.count(" cycle 1: ") or daemon.poll() is not None, what="a cycle")
    assert daemon.poll() is None, err.text()[-3000:]
    (url,) = re.findall(r"metrics on (http://\S+/metrics)", err.text())
    return daemon, err, url


def stop(daemon, err) -> None:
    stop_daemon(daemon, err)
    assert daemon.returncode == 0, err.text()[-3000:]


def test_a_cycle_that_removed_shows_in_the_metrics(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_post(cast.pics, cast.alice, name="bad", url=remote_photo(lemmy, photos, BAD))
    lemmy.add_post(cast.pics, cast.bob, name="probe", url=remote_photo(lemmy, photos, tiny.flagged))
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    daemon, err, url = start_daemon(bot, "--metrics-port", "0")
    try:
        assert url.startswith("http://127.0.0.1:"), "this host only by default"
        samples, page = scrape(url)
    finally:
        stop(daemon, err)

    assert lemmy.post(bad.id).removed
    assert value(samples, "modbot_actions_total", kind="remove", status="done") == 1
    assert value(samples, "modbot_actions_total", kind="ban", status="done") == 1
    assert value(samples, "modbot_actions_total", kind="report", status="done") == 1
    assert value(samples, "modbot_actions_total", kind="remove", status="failed") == 0
    assert value(samples, "modbot_verdicts_total", label="probe") == 1
    assert value(samples, "modbot_verdicts_total", label="csam") == 0, "known from the start"
    assert value(samples, "modbot_items_total") >= 2
    assert value(samples, "modbot_images_total") >= 2
    assert value(samples, "modbot_images_classified_total") >= 2
    assert value(samples, "modbot_decisions_total") >= 2
    assert value(samples, "modbot_lemmy_requests_total") > 0
    assert value(samples, "modbot_skips_total", reason="not_an_image") == 0
    assert value(samples, "modbot_cycles_total", result="ok") == 1
    assert value(samples, "modbot_cycles_total", result="failed") == 0
    assert value(samples, "modbot_cycle_duration_seconds_count") == 1
    assert value(samples, "modbot_cycle_duration_seconds_sum") > 0
    assert value(samples, "modbot_last_success_timestamp_seconds") > 1.7e9
    assert value(samples, "modbot_safety_valve_tripped") == 0
    # remove and ban; the remote image cannot be purged, so that one is not counted
    assert value(samples, "modbot_safety_valve_destructive_actions") == 2
    assert value(samples, "modbot_safety_valve_limit") == 20
    assert value(samples, "modbot_items_waiting") == 0
    assert value(samples, "modbot_sweep_pending") == 0
    (info,) = [labels for name, labels in samples if name == "modbot_info"]
    assert dict(info)["mode"] == "live"
    # no secret, and no URL or name from the instance, in a label
    label_values = {v for _name, labels in samples for _k, v in labels}
    assert lemmy.pictrs_api_key not in page
    assert not [v for v in label_values if "/" in v or v in ("pw", "modbot", "alice")]


def test_the_tripped_safety_valve_with_the_port_from_the_environment(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch
):
    """Two bad posts, one destructive action allowed an hour: the valve trips. From the
    environment (as in a .env), on a port chosen beforehand."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad_url = remote_photo(lemmy, photos, BAD)
    for i in range(2):
        lemmy.add_post(cast.pics, cast.alice, name=f"bad {i}", url=bad_url)
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], valve=1)
    bot = Bot(lemmy, tmp_path, rules)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot.env.update(MODBOT_METRICS_PORT=str(port), MODBOT_METRICS_ADDRESS="127.0.0.1")
    daemon, err, url = start_daemon(bot)
    try:
        assert url == f"http://127.0.0.1:{port}/metrics"
        samples, _ = scrape(url)
    finally:
        stop(daemon, err)
    assert value(samples, "modbot_safety_valve_tripped") == 1
    assert value(samples, "modbot_safety_valve_destructive_actions") == 1
    assert value(samples, "modbot_safety_valve_limit") == 1
    assert value(samples, "modbot_actions_total", kind="remove", status="done") == 1
    assert value(samples, "modbot_actions_total", kind="remove", status="skipped") >= 1


def test_wrong_metrics_options_are_refused(fake_lemmy, tiny, tmp_path):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    bot = Bot(fake_lemmy, tmp_path, rules)
    refused = bot("run", "--once", "--metrics-port", "9464", rc=2)
    assert "--metrics-port serves the daemon's metrics" in refused.stderr
    wrong = bot("run", "--metrics-port", "http", rc=2)
    assert "--metrics-port must be a port number" in wrong.stderr
    bot.env["MODBOT_METRICS_PORT"] = "99999"
    assert "MODBOT_METRICS_PORT must be a port number" in bot("run", rc=1).stderr


def test_a_port_in_use_fails_before_the_login(fake_lemmy, tiny, tmp_path):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    bot = Bot(fake_lemmy, tmp_path, rules)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = bot("run", "--metrics-port", str(port), rc=1)
    assert f"cannot serve metrics on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert [r for r in fake_lemmy.requests if r.path.endswith("/user/login")] == []
