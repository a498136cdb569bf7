"""`modbot gate`: pict-rs' external validation, driven exactly as pict-rs drives it.

Every gate here is the real command (`python -m modbot gate`, a child process on
127.0.0.1, port 0). Files reach it the way pict-rs sends them: through the fake's
upload (Lemmy's `POST /pictrs/image` -> pict-rs' ingest -> `POST` of the stored bytes,
chunked, with their `Content-Type`), or posted by the test the same way. The fake
stores or refuses each upload by the gate's answer, as pict-rs 0.5 does.

Gates: `local_gate` classifies in its own process (the tiny model); `remote_gate` and
the one of the admin-report test ask workers (`classifier.remote`): a port nobody
listens on first, then a real worker behind a switch that can slow it down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.bot import Bot, remote_photo, wait_for
from support.policies import BAD
from support.worker import TOKEN, dead_url

from classifier.service import WorkerServer, bind_socket
from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
ALLOWED = hostile.jpeg(color=(200, 30, 30))  # on both the known-bad list and the allow-list
BOT_ONLY_RULE = "bot purges this file"
MAX_BYTES = 2_000_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_rules(
    directory: Path,
    tiny,
    photos,
    *,
    classifier: str = "",
    gate: str = "",
    known_bad=(),
    bot_only=(),
) -> Path:
    """Rules shared by the gate and the bot: three `type: incoming` rules, and a bot rule
    that purges what is on the `bot-only` list (no gate rule knows that list)."""
    (directory / "known-bad.txt").write_text("".join(f"{h}\n" for h in known_bad))
    (directory / "innocent.txt").write_text(f"{sha(ALLOWED)}\n")
    (directory / "bot-only.txt").write_text("".join(f"{h}\n" for h in bot_only))
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny.checkpoint},
             device: cpu, batch_size: 8, allow_random_weights: true {classifier}}}
concepts:
  probe: {{prompts: ["a photo of a cat"], threshold: {tiny.threshold!r}}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
  innocent: {{kind: sha256, file: innocent.txt}}
  bot-only: {{kind: sha256, file: bot-only.txt}}
lemmy: {{requests_per_minute: 6000, lookback: 6h, timeout: 10s}}
exempt: {{hash_lists: [innocent]}}
gate: {{max_bytes: {MAX_BYTES} {gate}}}
rules:
  - name: known abusive file at the door
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
  - name: probe at the door
    if: {{type: incoming, labels: [probe]}}
    then: {{reject: true}}
  - name: unreadable at the door
    if: {{type: incoming, unreadable: true}}
    then: {{reject: true}}
  - name: {BOT_ONLY_RULE}
    if: {{type: upload, hash_list: bot-only}}
    then: {{purge_image: true}}
""")
    return path


class GateProcess:
    """`python -m modbot gate --listen 127.0.0.1:0` with its own environment."""

    def __init__(self, directory: Path, rules: Path, state: Path, **env: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.state = state
        port_file = directory / "gate.port"
        self.log_path = directory / "gate.log"
        self.env = {
            **os.environ,
            "MODBOT_GATE_SECRET": SECRET,
            "MODBOT_RULES": str(rules),
            "MODBOT_STATE": str(state),
            "MODBOT_CLASSIFIER_TOKEN": TOKEN,
            **env,
        }
        for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
            if name not in env:
                self.env.pop(name, None)
        self.log = self.log_path.open("w")
        command = ["gate", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modbot", *command],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while not port_file.exists():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        self.validation_url = f"{self.url}/validate/{SECRET}"

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def post(self, data: bytes, media_type: str | None = "image/jpeg", *, path=None):
        """What pict-rs sends: the body streamed (chunked), its media type, its agent."""

        def stream():
            for start in range(0, len(data), 65_536):
                yield data[start : start + 65_536]

        headers = {"User-Agent": "pict-rs v0.5.0-main"}
        if media_type is not None:
            headers["Content-Type"] = media_type
        url = self.url + path if path else self.validation_url
        return httpx.post(url, content=stream(), headers=headers, timeout=60)

    def health(self) -> dict:
        return httpx.get(f"{self.url}/healthz", timeout=10).json()

    def evidence(self) -> list[dict]:
        store = Store(self.state)
        try:
            return [d for d in store.decisions() if d["item"]["kind"] == "incoming"]
        finally:
            store.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()
        return self.process.returncode


class Switch:
    """A worker that can be slowed down (`delay` seconds before each verdict) or stopped."""

    def __init__(self, worker) -> None:
        self.delay = 0.0
        self.down = False  # 503 to everything, as a worker still loading its model
        inner = worker.service.app

        async def app(scope, receive, send) -> None:
            if scope["type"] == "http" and self.down:
                from starlette.responses import JSONResponse

                await JSONResponse({"error": "loading"}, status_code=503)(scope, receive, send)
                return
            if scope["type"] == "http" and scope["path"] == "/v1/classify" and self.delay:
                await asyncio.sleep(self.delay)
            await inner(scope, receive, send)

        self.app = app
        self.server = WorkerServer(self, bind_socket("127.0.0.1", 0))
        self.server.start()
        self.url = self.server.url


@pytest.fixture(scope="module")
def local_gate(tiny, photos, tmp_path_factory):
    directory = tmp_path_factory.mktemp("local-gate")
    rules = write_rules(
        directory,
        tiny,
        photos,
        known_bad=[sha(photos[BAD]), sha(ALLOWED)],
        bot_only=[sha(photos[tiny.others[1]])],
    )
    gate = GateProcess(directory, rules, directory / "state.sqlite3")
    gate.rules = rules
    yield gate
    assert gate.stop() == 0, gate.output()


def login(lemmy, name: str) -> str:
    answer = httpx.post(
        f"{lemmy.url}/api/v3/user/login",
        json={"username_or_email": name, "password": PASSWORD},
        timeout=10,
    )
    return answer.json()["jwt"]


def upload(lemmy, jwt: str, data: bytes, name: str = "photo.jpg") -> httpx.Response:
    """A user's upload through Lemmy 0.19 (multipart `images[]`, as lemmy-js-client sends)."""
    return httpx.post(
        f"{lemmy.url}/pictrs/image",
        files={"images[]": (name, data, "image/jpeg")},
        headers={"Authorization": f"Bearer {jwt}"},
        timeout=60,
    )


def stored(lemmy) -> set[str]:
    with lemmy.state.lock:
        return {u.sha256 for u in lemmy.state.uploads.values() if not u.deleted}


# --------------------------------------------------------------------------- tests


def test_an_upload_is_stored_or_refused_by_the_gates_answer(fake_lemmy, local_gate, tiny, photos):
    fake_lemmy.external_validation = local_gate.validation_url
    jwt = login(fake_lemmy, "alice")
    fine, flagged, bad = photos[tiny.others[0]], photos[tiny.flagged], photos[BAD]

    answer = upload(fake_lemmy, jwt, fine)
    assert answer.status_code == 201, answer.text
    assert answer.json()["msg"] == "ok" and sha(fine) in stored(fake_lemmy)
    alias = answer.json()["files"][0]["file"]
    assert fake_lemmy.upload(alias).person_id == fake_lemmy.cast.alice.id

    for data in (flagged, bad):  # a rule on the verdict; a rule on the hash
        answer = upload(fake_lemmy, jwt, data)
        # Lemmy 0.19 passes pict-rs' 400 on, with pict-rs' message
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"files": None, "msg": "Failed external validation"}
        assert sha(data) not in stored(fake_lemmy)

    # pict-rs sent each stored file as it is, with its media type; the gate answered
    assert [(v.status, v.media_type, v.size) for v in fake_lemmy.validations] == [
        (200, "image/jpeg", len(fine)),
        (406, "image/jpeg", len(flagged)),
        (406, "image/jpeg", len(bad)),
    ]
    # straight to pict-rs' own POST /image: the same
    answer = httpx.post(
        f"{fake_lemmy.pictrs_url}/image", files={"images[]": ("x.jpg", bad, "image/jpeg")}
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "msg": "Failed external validation",
        "code": "failed-external-validation",
    }

    # evidence of each decision: hash, size, media type, time, scores, rule; no image
    evidence = {e["image"]["sha256"]: e for e in local_gate.evidence()}
    accepted = evidence[sha(fine)]  # a file accepted is recorded too (s26c)
    assert accepted["gate"]["outcome"] == "accepted" and accepted["gate"]["status"] == 200
    assert accepted["rule"] is None and accepted["actions"] == [] and accepted["scores"]
    probe = evidence[sha(flagged)]
    assert probe["rule"] == "probe at the door" and probe["labels"] == ["probe"]
    assert probe["scores"]["probe"] > 0 and probe["model"] == "modbot-tiny/random-weights"
    assert probe["gate"]["size"] == len(flagged)
    assert probe["gate"]["media_type"] == "image/jpeg" and probe["gate"]["status"] == 406
    assert probe["gate"]["received_at"].endswith("Z")
    assert probe["actions"][0]["action"] == "reject"
    hashed = evidence[sha(bad)]
    assert hashed["rule"] == "known abusive file at the door"
    assert hashed["hash_match"] == {"known-bad": "sha256"} and hashed["scores"] == {}
    for record in evidence.values():
        assert len(json.dumps(record)) < 5000  # hashes and numbers, never the bytes

    # the verdicts went into the bot's verdict cache, under the bot's concept version
    store = Store(local_gate.state)
    try:
        versions = {
            row[0] for row in store._db.execute("SELECT concept_version FROM verdicts").fetchall()
        }
        assert len(versions) == 1
        (version,) = versions
        assert store.get_verdict(sha(fine), version)["labels"] == []
        assert store.get_verdict(sha(flagged), version)["labels"] == ["probe"]
    finally:
        store.close()


def test_modbot_report_lists_what_the_gate_refused_as_recorded(
    fake_lemmy, local_gate, photos, tmp_path
):
    """The report of a window lists the gate's refusals apart from the items' decisions,
    either way the report is made (walking the window, or from the record)."""
    bad = photos[BAD]
    assert local_gate.post(bad).status_code == 406
    lemmy = fake_lemmy
    lemmy.add_post(
        lemmy.cast.pics, lemmy.cast.alice, name="p", url=remote_photo(lemmy, photos, "chelsea")
    )
    bot = Bot(lemmy, local_gate.state.parent, local_gate.rules)
    assert bot.state == local_gate.state  # the state file the gate records into

    bot("report", "--since", "1d", "--out", str(tmp_path / "r.json"))
    doc = json.loads((tmp_path / "r.json").read_text())
    refused = [g for g in doc["gate"] if g["image"]["sha256"] == sha(bad)]
    assert refused, doc["gate"]
    assert refused[-1]["rule"] == "known abusive file at the door"
    assert refused[-1]["gate"]["outcome"] == "rejected" and refused[-1]["gate"]["status"] == 406
    assert doc["summary"]["gate"]["records"] == len(doc["gate"])
    assert doc["summary"]["gate"]["by_rule"]["known abusive file at the door"] >= 1
    assert all(d["item"]["kind"] != "incoming" for d in doc["decisions"])
    assert doc["decisions"], "the post's decision is there too"

    # the first report recorded the post: this one is made from the record
    done = bot("report", "--since", "1d", "--out", str(tmp_path / "r.html"))
    assert "from the record" in done.stdout and "files at the upload gate" in done.stdout
    page = (tmp_path / "r.html").read_text()
    assert "At the upload gate" in page and "Upload gate (by answer)" in page
    assert sha(bad)[:16] in page and "known abusive file at the door" in page
    assert "<img" not in page
    assert lemmy.mutating_requests() == []


def test_an_allow_listed_file_passes_though_a_rule_rejects_it(local_gate):
    answer = local_gate.post(ALLOWED)  # on the known-bad list and the allow-list
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "accepted" and "allow-list" in answer.json()["why"]
    assert local_gate.health()["allow_listed"] >= 1


def test_no_secret_no_service(local_gate, photos):
    before = local_gate.health()
    assert local_gate.post(photos[BAD], path="/validate").status_code == 401
    assert local_gate.post(photos[BAD], path="/validate/wrong-secret-0123456789").status_code == 403
    assert local_gate.post(photos[BAD], path=f"/validate/{SECRET}x").status_code == 403
    codes = [
        local_gate.post(b"x", path="/validate/guess-0123456789abcdef").status_code
        for _ in range(12)
    ]
    assert codes[:7] == [403] * 7 and codes[-1] == 429  # a peer that keeps trying
    # pict-rs' own requests still pass, and the refused ones were never looked at
    assert local_gate.post(photos[BAD]).status_code == 406
    # pictrs-safety's URL, for a drop-in replacement
    assert local_gate.post(photos[BAD], path=f"/api/v1/scan/{SECRET}").status_code == 406
    after = local_gate.health()
    assert after["rejected"] == before["rejected"] + 2
    assert after["unauthorized"] == before["unauthorized"] + 1
    assert after["rate_limited"] >= 1
    assert SECRET not in local_gate.output()


def test_oversized_and_non_image_bodies(local_gate, fake_lemmy):
    big = hostile.large_file(MAX_BYTES + 1)
    answer = local_gate.post(big)
    assert answer.status_code == 413 and answer.json()["outcome"] == "rejected"
    page = hostile.html_page()
    assert local_gate.post(page, "text/html").status_code == 415
    assert local_gate.post(page, None).status_code == 415
    # a body that claims to be an image and is not: decided by the rules (unreadable)
    answer = local_gate.post(page, "image/jpeg")
    assert answer.status_code == 406, answer.text
    assert answer.json()["rule"] == "unreadable at the door"
    evidence = local_gate.evidence()
    sizes = {e["gate"]["status"]: e["gate"]["size"] for e in evidence}
    # sent chunked, as pict-rs does: its size not known, only what was read at the cap
    # (test_s31a_gate_too_large_record; before, "size" was the bytes read)
    too_large = next(e for e in evidence if e["gate"]["status"] == 413)
    assert sizes[413] is None and too_large["gate"]["size_read"] > MAX_BYTES
    assert too_large["image"]["sha256"] is None and too_large["image"]["hashes_not_taken"]
    assert sizes[415] == len(page)
    # through pict-rs: a file too large for the gate is not stored
    fake_lemmy.external_validation = local_gate.validation_url
    large = hostile.large_file(MAX_BYTES + 1)  # a JPEG, padded
    answer = upload(fake_lemmy, login(fake_lemmy, "alice"), large)
    assert answer.status_code == 400 and sha(large) not in stored(fake_lemmy)


def test_a_file_the_bot_purged_is_refused_at_the_door(
    fake_lemmy, local_gate, tiny, photos, tmp_path
):
    fake_lemmy.external_validation = local_gate.validation_url
    jwt = login(fake_lemmy, "alice")
    data = photos[tiny.others[1]]  # on the bot's own list only: no gate rule knows it
    answer = upload(fake_lemmy, jwt, data)
    assert answer.status_code == 201, answer.text
    alias = answer.json()["files"][0]["file"]

    bot = Bot(fake_lemmy, tmp_path, local_gate.rules)
    bot.env["MODBOT_STATE"] = str(local_gate.state)  # the gate reads the bot's state
    done = bot("run", "--once")
    assert not fake_lemmy.image_exists(alias)  # purged by the bot
    summary = re.search(r"\d+ images; \d+ classified; \d+ from cache", done.stdout)
    assert summary and summary.group() == "1 images; 0 classified; 1 from cache", done.stdout

    answer = upload(fake_lemmy, jwt, data)  # uploaded again: refused
    assert answer.status_code == 400
    direct = local_gate.post(data)
    assert direct.status_code == 406
    assert (
        direct.json()["rule"] == BOT_ONLY_RULE and "purged this file before" in direct.json()["why"]
    )
    assert local_gate.health()["purged_files_refused"] >= 1


def test_a_state_file_another_process_holds_locked_does_not_hold_the_answers(
    local_gate, tiny, photos
):
    """The bot holds the state file's write lock while it records an item (and SQLite
    lets others wait 30 s for it): pict-rs, which gives up after 30 s, still gets its
    answers at once, and the evidence is written when the lock frees."""
    by_hash = photos[BAD]  # on the known-bad list
    by_verdict = photos[tiny.flagged] + b"locked"  # a new file: classified, then cached
    holder = sqlite3.connect(local_gate.state, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # as the bot's transaction for one item
    try:
        for data, rule in (
            (by_hash, "known abusive file at the door"),
            (by_verdict, "probe at the door"),
        ):
            started = time.monotonic()
            answer = local_gate.post(data)
            assert time.monotonic() - started < 15, "the answer waited for the lock"
            assert answer.status_code == 406 and answer.json()["rule"] == rule
        waiting = local_gate.health()["state_file"]
        assert waiting["writes_waiting"] >= 2 and waiting["not_written"] == 0
        assert sha(by_verdict) not in {e["image"]["sha256"] for e in local_gate.evidence()}
    finally:
        holder.rollback()
        holder.close()
    wait_for(
        lambda: (
            {sha(by_hash), sha(by_verdict)} <= {e["image"]["sha256"] for e in local_gate.evidence()}
        ),
        30,
        "the evidence written once the lock freed",
    )
    wait_for(lambda: local_gate.health()["state_file"]["writes_waiting"] == 0, 30, "the writes")
    cache = Store(local_gate.state)
    try:
        assert cache.get_verdict(sha(by_verdict), local_gate.health()["concept_version"])
    finally:
        cache.close()


def test_subscribed_feeds_refuse_at_the_door_and_survive_a_restart(
    fake_lemmy, tiny, photos, tmp_path
):
    """A known-bad feed's file is refused by its hash list; a classified feed's verdict
    replaces the classifier's, as in the bot."""
    from datetime import date

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed

    data = photos[tiny.others[0]]  # no rule of the gate's own refuses these two
    judged = photos[tiny.others[1]]
    key = Ed25519PrivateKey.generate()
    lemmy = fake_lemmy
    for name, file in (("hashes", data), ("verdicts", judged)):
        entry = FeedEntry("sha256", sha(file), "bad", "csam", date.today())
        body, signature = sign_feed(make_feed("peer.example", [entry]), key)
        lemmy.add_remote_file(f"{name}.json", body, content_type="application/json")
        lemmy.add_remote_file(f"{name}.json.sig", signature, content_type="text/plain")
    rules = write_rules(tmp_path, tiny, photos)
    subscription = f'key: "{public_key_text(key)}", instance: peer.example'
    feed = (
        f'feeds:\n  peer: {{url: "{lemmy.remote_url}/hashes.json", {subscription}, '
        "use: known-bad}\n"
        f'  peer-verdicts: {{url: "{lemmy.remote_url}/verdicts.json", {subscription}, '
        "use: classified}\n"
        f'fetch: {{allow_hosts: ["{lemmy.remote_url.split("//", 1)[1]}"]}}\n'
        "rules:\n  - name: the peer's known-bad at the door\n"
        "    if: {type: incoming, hash_list: peer}\n    then: {reject: true}\n"
        "  - name: csam at the door\n"
        "    if: {type: incoming, labels: [csam]}\n    then: {reject: true}\n"
    )
    rules.write_text(rules.read_text().replace("rules:\n", feed, 1))
    state = tmp_path / "state.sqlite3"

    # no copy yet: the gate fetches the feed itself (no bot needed), then refuses by it
    gate = GateProcess(tmp_path / "first", rules, state)
    try:
        feeds = lambda: gate.health()["feeds"].values()  # noqa: E731
        wait_for(lambda: all("1 entries" in f for f in feeds()), 60, "the feeds")
        answer = gate.post(data)
        assert answer.status_code == 406, answer.text
        assert answer.json()["rule"] == "the peer's known-bad at the door"
        (evidence,) = [e for e in gate.evidence() if e["image"]["sha256"] == sha(data)]
        assert evidence["hash_match"] == {"peer": "feed sha256"}
        # the peer's verdict, not the classifier's: its label, no scores
        answer = gate.post(judged)
        assert answer.status_code == 406 and answer.json()["rule"] == "csam at the door"
        (evidence,) = [e for e in gate.evidence() if e["image"]["sha256"] == sha(judged)]
        assert evidence["model"] == "feed peer-verdicts" and evidence["labels"] == ["csam"]
        assert evidence["scores"] == {}
        assert gate.health()["peer_verdicts"] == 1
    finally:
        assert gate.stop() == 0, gate.output()
    served = [r for r in lemmy.requests if r.path.endswith("/hashes.json")]
    assert len(served) == 1

    # restarted while the feed's host is down: the copy kept in the state file is used
    # from the first request, and nothing is fetched (its `every` has not passed)
    lemmy.add_remote_file("hashes.json", b"<html>down</html>", content_type="text/html")
    gate = GateProcess(tmp_path / "second", rules, state)
    try:
        assert "1 entries" in gate.health()["feeds"]["peer"]
        assert gate.post(data).status_code == 406
        assert gate.health()["feeds_refused"] == 0
    finally:
        assert gate.stop() == 0, gate.output()
    assert len([r for r in lemmy.requests if r.path.endswith("/hashes.json")]) == 1


def test_sighup_reloads_the_rules_and_lists_and_keeps_them_when_the_new_file_is_bad(
    tiny, photos, tmp_path
):
    data = photos[tiny.others[0]]  # no rule refuses it yet
    rules = write_rules(tmp_path, tiny, photos)
    gate = GateProcess(tmp_path / "gate", rules, tmp_path / "state.sqlite3")

    def hangup(expect: str) -> None:
        seen = gate.output().count(expect)
        gate.process.send_signal(signal.SIGHUP)
        wait_for(lambda: gate.output().count(expect) > seen, 30, expect)

    try:
        assert gate.post(data).status_code == 200
        # the admin adds the file to the known-bad list and says so: no restart
        (tmp_path / "known-bad.txt").write_text(f"{sha(data)}\n")
        hangup("rules reloaded from")
        answer = gate.post(data)
        assert (
            answer.status_code == 406 and answer.json()["rule"] == "known abusive file at the door"
        )

        # a typo: not taken, the log says where; the gate decides by the rules it has
        good = rules.read_text()
        rules.write_text(good.replace("then: {reject: true}", "then: {rejct: true}", 1))
        hangup("rules NOT reloaded")
        assert "rejct" in gate.output()
        assert gate.post(data).status_code == 406

        # the classifier cannot change under a running gate: the whole file is refused
        (tmp_path / "known-bad.txt").write_text("")
        rules.write_text(good.replace("batch_size: 8", "batch_size: 4"))
        hangup("restart the gate to apply them")
        assert gate.post(data).status_code == 406
        assert gate.process.poll() is None
    finally:
        assert gate.stop() == 0, gate.output()


def test_worker_down_failover_then_the_policy(worker, tiny, photos, tmp_path):
    switch = Switch(worker)
    rules = write_rules(
        tmp_path,
        tiny,
        photos,
        classifier=f", remote: [{dead_url()}, {switch.url}]",
        gate=", budget: 2s, on_timeout: reject",
    )
    gate = GateProcess(tmp_path / "gate", rules, tmp_path / "state.sqlite3")
    try:
        # the first worker is down: the next one answers
        assert gate.post(photos[tiny.others[0]]).status_code == 200
        assert gate.post(photos[tiny.flagged]).json()["rule"] == "probe at the door"
        # slower than the budget: refused (fail closed)
        switch.delay = 4.0
        started = time.monotonic()
        answer = gate.post(photos["astronaut"] + b"\0")
        assert time.monotonic() - started < 3.5
        assert answer.status_code == 503, answer.text
        assert answer.json()["outcome"] == "refused_without_verdict"
        assert answer.json()["why"].startswith("timeout")
        # every worker down: refused by the policy, not an error
        switch.delay = 0.0
        switch.server.stop()
        answer = gate.post(photos["chelsea"] + b"\0")
        assert answer.status_code == 503 and "classifier_unavailable" in answer.json()["why"]
        health = gate.health()
        assert health["refused_without_verdict"] == 2 and health["classifier"] == "remote"
        assert [e["gate"]["outcome"] for e in gate.evidence()][-2:] == [
            "refused_without_verdict"
        ] * 2
    finally:
        gate.stop()


def test_a_worker_down_at_start_that_then_refuses_the_concepts_is_the_policy_not_a_500(
    worker, tmp_path
):
    """The gate starts while its worker is down; the worker comes up and refuses the
    concept set (a header over its 8 KiB limit: 400). The upload is decided by
    gate.on_timeout like any other failure of the classifier, counted, recorded and told
    to the admins; before, the refusal escaped as a 500 and nothing was recorded.
    (In-process: the gate's own objects, served as `modbot gate` serves them.)"""
    from classifier.remote import concepts_header
    from modbot.classify import _custom_concepts, build_engine
    from modbot.config.policy import load_policy
    from modbot.config.settings import Secret
    from modbot.modes.gate import Gate

    switch = Switch(worker)
    switch.down = True
    prompts = ", ".join(f'"a photo of something rather specific, number {j}"' for j in range(6))
    concepts = "".join(f"  c{i}: {{prompts: [{prompts}], threshold: 0.25}}\n" for i in range(30))
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
concepts:
{concepts}
gate: {{budget: 5s, on_timeout: allow}}
rules:
  - name: c0 at the door
    if: {{type: incoming, labels: [c0]}}
    then: {{reject: true}}
""")
    # check-rules refuses such a set with classifier.remote (9c0ea5a); a worker with
    # smaller limits than this version's still can: the remote classifier put in after
    remote = tmp_path / "remote.yaml"
    remote.write_text(f'classifier: {{remote: ["{switch.url}"]}}\n')
    policy = load_policy(rules)
    policy = dataclasses.replace(policy, classifier=load_policy(remote).classifier)
    assert len(concepts_header(_custom_concepts(policy)) or "") > 8192
    store = Store(tmp_path / "state.sqlite3")
    engine = build_engine(policy, Secret(TOKEN))  # the worker is down: left for later
    gate = Gate(policy, store, engine, secret=SECRET)
    server = WorkerServer(gate, bind_socket("127.0.0.1", 0))
    server.start()
    try:
        switch.down = False
        data = hostile.jpeg(color=(10, 200, 10))
        answer = httpx.post(
            f"{server.url}/validate/{SECRET}",
            content=data,
            headers={"Content-Type": "image/jpeg"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        said = answer.json()
        assert said["outcome"] == "allowed_without_verdict", said
        # the worker's refusal of what every request carries: the classifier is
        # unavailable (the image is no cause), as cfa2b2f records it for the bot too
        assert said["why"].startswith("classifier_unavailable: "), said
        assert "concept" in said["why"] or "header" in said["why"], said
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["requests"] == 1 and health["allowed_without_verdict"] == 1
        ((_id, record),) = store.gate_window(None)
        assert record["image"]["sha256"] == sha(data)
        assert record["gate"]["outcome"] == "allowed_without_verdict"
        assert record["skipped"].startswith("classifier_unavailable")
        assert dict(gate.reports.pending) == {"allowed_without_verdict: classifier_unavailable": 1}
    finally:
        server.stop()
        gate.close()
        engine.close()
        store.close()
        switch.server.stop()


def test_past_the_budget_a_fail_open_is_counted_logged_and_told_to_the_admins(
    fake_lemmy,
    worker,
    tiny,
    photos,
    tmp_path,
):
    slow = Switch(worker)
    slow.delay = 3.0
    try:
        rules = write_rules(
            tmp_path,
            tiny,
            photos,
            classifier=f", remote: [{slow.url}]",
            gate=", budget: 1s, on_timeout: allow, report_every: 1h",
        )
        gate = GateProcess(
            tmp_path / "gate",
            rules,
            tmp_path / "state.sqlite3",
            LEMMY_URL=fake_lemmy.url,
            LEMMY_USERNAME="modbot",
            LEMMY_PASSWORD=PASSWORD,
        )
        try:
            fake_lemmy.external_validation = gate.validation_url
            jwt = login(fake_lemmy, "alice")
            flagged = photos[tiny.flagged]
            answer = upload(fake_lemmy, jwt, flagged)
            assert answer.status_code == 201  # stored without a check: the policy says so
            assert upload(fake_lemmy, jwt, photos[tiny.others[0]]).status_code == 201
            assert [v.status for v in fake_lemmy.validations] == [200, 200]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not fake_lemmy.private_messages:
                time.sleep(0.2)
            time.sleep(REPORT_SETTLE)
            health = gate.health()
            assert health["allowed_without_verdict"] == 2
            # one message per admin (modbot itself is not told), however many fail-opens
            messages = fake_lemmy.private_messages
            assert sorted(m.recipient_id for m in messages) == [fake_lemmy.cast.admin.id]
            assert "allowed_without_verdict: timeout" in messages[0].content
            assert sha(flagged) in messages[0].content
            log = gate.output()
            assert log.count("stored WITHOUT a check") == 2
            # the late verdict is cached: the same file again is decided at once, by it
            deadline = time.monotonic() + 30
            while gate.health()["late_matches"] < 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            answer = gate.post(flagged)
            assert answer.status_code == 406, answer.text
            assert gate.health()["cache_hits"] >= 1
            assert [e["gate"]["outcome"] for e in gate.evidence()] == [
                "allowed_without_verdict",
                "allowed_without_verdict",
                "rejected",
            ]
        finally:
            assert gate.stop() == 0
        assert len(fake_lemmy.private_messages) == 1
    finally:
        slow.server.stop()


REPORT_SETTLE = 3.0  # a second report would come within this (REPORT_CHECK_S)


def test_a_report_lemmy_refused_is_told_with_the_next_one(fake_lemmy, tmp_path, monkeypatch):
    """The admins are told of every file decided without a verdict: a report Lemmy did
    not take (down, refusing) keeps its counts, its examples and its start for the next
    try, and does not count as the last report. Before, they were dropped."""
    from modbot.config.settings import Settings
    from modbot.modes import gate as gate_mode

    monkeypatch.setattr(gate_mode, "REPORT_RETRY_S", 0.0)
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    store = Store(tmp_path / "state.sqlite3")
    reports = gate_mode.AdminReports(store, every_s=3600.0, settings=settings)
    try:
        first = [f"{i:064x}" for i in range(3)]
        for sha256 in first:
            reports.note("allowed_without_verdict", "timeout", sha256)
        since = reports.since
        fake_lemmy.fail_next("/api/v3/private_message", status=400, error="couldnt_create")
        reports.flush()
        assert (reports.sent, reports.failed) == (0, 1)
        assert fake_lemmy.private_messages == []
        assert store.get_cursor(reports.CURSOR) is None, "no report was made"
        reports.note("refused_without_verdict", "classifier_unavailable", "f" * 64)
        reports.flush()  # Lemmy takes it now: all four, since the first
        assert (reports.sent, reports.failed) == (1, 1)
        (message,) = fake_lemmy.private_messages
        assert message.recipient_id == fake_lemmy.cast.admin.id
        assert f"decided 4 file(s) without a verdict since {since} " in message.content
        assert "3 allowed_without_verdict: timeout; 1 refused_without_verdict" in message.content
        assert ", ".join([*first, "f" * 64]) in message.content
        assert store.get_cursor(reports.CURSOR) is not None
        assert not reports.pending and not reports.examples
        reports.note("allowed_without_verdict", "timeout", "e" * 64)
        reports.flush()  # within report_every of the one sent: not yet
        assert len(fake_lemmy.private_messages) == 1 and reports.pending
    finally:
        store.close()


def test_a_report_some_admins_got_is_not_sent_to_them_again(fake_lemmy, tmp_path, monkeypatch):
    """Lemmy fails the message to the second admin after the first has it: the report
    counts as made (one admin knows; the log names who was not told), and nobody is
    sent the same counts twice."""
    from modbot.config.settings import Settings
    from modbot.lemmy import LemmyClient
    from modbot.modes import gate as gate_mode

    monkeypatch.setattr(gate_mode, "REPORT_RETRY_S", 0.0)
    second = fake_lemmy.add_person("second_admin", admin=True)
    real = LemmyClient.private_message
    sent: list[int] = []

    def second_fails(self, recipient_id, content, **kwargs):
        sent.append(recipient_id)
        if len(sent) == 2:
            fake_lemmy.fail_next("/api/v3/private_message", status=400, error="couldnt_create")
        return real(self, recipient_id, content, **kwargs)

    monkeypatch.setattr(LemmyClient, "private_message", second_fails)
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    store = Store(tmp_path / "state.sqlite3")
    reports = gate_mode.AdminReports(store, every_s=0.0, settings=settings)
    try:
        reports.note("allowed_without_verdict", "timeout", "a" * 64)
        reports.flush()
        assert sent == [fake_lemmy.cast.admin.id, second.id]
        assert [m.recipient_id for m in fake_lemmy.private_messages] == [fake_lemmy.cast.admin.id]
        assert (reports.sent, reports.failed) == (1, 0) and not reports.pending
        reports.flush()  # nothing new: nothing sent again
        assert len(fake_lemmy.private_messages) == 1 and len(sent) == 2
    finally:
        store.close()


def test_check_rules_says_where_reject_and_incoming_belong(tmp_path, capsys):
    from modbot.cli import main

    path = tmp_path / "rules.yaml"
    path.write_text("""
gate: {budget: 40s, on_timeout: maybe}
rules:
  - name: reject a post
    if: {type: post, labels: [csam]}
    then: {reject: true}
  - name: remove at the door
    if: {type: incoming, labels: [csam]}
    then: {remove: true}
  - name: both
    if: {type: [incoming, post], labels: [csam]}
    then: {reject: true}
  - name: fine
    if: {type: incoming, labels: [csam]}
    then: {reject: true}
""")
    assert main(["check-rules", str(path)]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert f"{path}:2: gate.budget: budget 40s" in text and "30s" in text
    assert "gate.on_timeout: use allow (fail open) or reject (fail closed)" in text
    assert f"{path}:4:" in text and "use it in a rule with `type: incoming`" in text
    assert "its only action is `reject: true` (not remove)" in text
    assert "cannot be mixed with other types" in text
    assert f"{path}:16:" not in text


def test_healthcheck_asks_the_gates_healthz(local_gate):
    ok = subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck", "--http", f"{local_gate.url}/healthz"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "ok (classifier local" in ok.stdout, ok.stderr
    down = subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck", "--http", f"{dead_url()}/healthz"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and "no answer" in down.stderr


def _evidence(sha256: str) -> dict:
    return {
        "run_id": "gate-test",
        "decided_at": "2026-12-03T12:00:00Z",
        "item": {"kind": "incoming", "id": None},
        "image": {"sha256": sha256},
        "rule": "known abusive file at the door",
        "gate": {"outcome": "rejected", "status": 406},
    }


def test_records_that_cannot_wait_for_a_locked_state_file_are_logged_whole(
    tmp_path, monkeypatch, caplog
):
    """The records waiting for the lock are bounded; one past the bound, or left when
    the gate stops while the file is still locked, is logged with its hash, outcome and
    rule (then the log is its record), and counted."""
    from modbot.modes import gate_state

    monkeypatch.setattr(gate_state, "MAX_PENDING_WRITES", 2)
    monkeypatch.setattr(gate_state, "WRITE_BUSY_S", 0.2)
    path = tmp_path / "state.sqlite3"
    store = Store(path)
    state = gate_state.GateState(store)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    async def answers() -> None:
        for name in ("first", "second", "third"):
            await state.record(_evidence(sha(name.encode())))

    asyncio.run(answers())
    assert state.not_written == 1 and state.writes_waiting == 2
    assert (
        f"NOT written to the state file (2 writes wait for its lock): the evidence of "
        f"rejected sha256 {sha(b'third')} (rule 'known abusive file at the door', 406)"
        in caplog.text
    )
    state.close()  # still locked: the try under way is the last
    holder.rollback()
    assert state.not_written == 3
    assert sha(b"first") in caplog.text and sha(b"second") in caplog.text
    assert [d["image"]["sha256"] for d in store.decisions()] == []
    store.close()
