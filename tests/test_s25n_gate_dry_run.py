"""`modbot gate --dry-run`: the gate refuses nothing. Every file is decided and recorded
as usual, pict-rs is answered 200 and stores it, and the record says what it would have
been answered (`dry_run`, the reject action `planned`). Before, there was no way to try
the rules at the door without refusing real uploads: `--dry-run` was an unknown option."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.worker import TOKEN, dead_url

from fakelemmy import hostile
from fakelemmy.scenarios import PASSWORD
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
BAD = hostile.jpeg(color=(10, 20, 200))


def rules(directory: Path) -> Path:
    (directory / "known-bad.txt").write_text(hashlib.sha256(BAD).hexdigest() + "\n")
    path = directory / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, allow_random_weights: true,
             remote: ["{dead_url()}"]}}
hash_lists:
  known-bad: {{kind: sha256, file: known-bad.txt}}
gate: {{budget: 3s, on_timeout: reject}}
rules:
  - name: known abusive file at the door
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
""")
    return path


def test_a_dry_run_gate_stores_every_file_and_records_what_it_would_have_refused(
    fake_lemmy, tmp_path
):
    state = tmp_path / "state.sqlite3"
    port_file = tmp_path / "gate.port"
    env = {
        **os.environ,
        "MODBOT_GATE_SECRET": SECRET,
        "MODBOT_RULES": str(rules(tmp_path)),
        "MODBOT_STATE": str(state),
        "MODBOT_CLASSIFIER_TOKEN": TOKEN,
    }
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"):
        env.pop(name, None)
    log = (tmp_path / "gate.log").open("w")
    command = ["gate", "--dry-run", "--listen", "127.0.0.1:0", "--port-file", str(port_file)]
    gate = subprocess.Popen(
        [sys.executable, "-m", "modbot", *command], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert gate.poll() is None, (tmp_path / "gate.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        url = f"http://127.0.0.1:{int(port_file.read_text())}"
        fake_lemmy.external_validation = f"{url}/validate/{SECRET}"
        jwt = httpx.post(
            f"{fake_lemmy.url}/api/v3/user/login",
            json={"username_or_email": "alice", "password": PASSWORD},
            timeout=10,
        ).json()["jwt"]
        other = hostile.jpeg(color=(200, 200, 10))
        for data in (BAD, other):  # a known-bad hash; no classifier answering (on_timeout)
            answer = httpx.post(
                f"{fake_lemmy.url}/pictrs/image",
                files={"images[]": ("photo.jpg", data, "image/jpeg")},
                headers={"Authorization": f"Bearer {jwt}"},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text  # stored: a dry run refuses nothing
        assert [v.status for v in fake_lemmy.validations] == [200, 200]
        # a wrong secret is still no service: dry run is about decisions, not access
        assert (
            httpx.post(f"{url}/validate/wrong-secret-0123456789", content=b"x").status_code == 403
        )
        health = httpx.get(f"{url}/healthz").json()
        assert health["dry_run"] is True
        assert health["rejected"] == 1 and health["refused_without_verdict"] == 1
    finally:
        gate.send_signal(signal.SIGTERM)
        assert gate.wait(timeout=60) == 0
        log.close()
    output = (tmp_path / "gate.log").read_text()
    assert "DRY RUN" in output and "would have rejected" in output

    store = Store(state)
    try:
        records = {d["image"]["sha256"]: d for d in store.decisions()}
    finally:
        store.close()
    bad = records[hashlib.sha256(BAD).hexdigest()]
    assert bad["dry_run"] is True and bad["rule"] == "known abusive file at the door"
    assert bad["gate"]["status"] == 200 and bad["gate"]["would_answer"] == 406
    ((action),) = bad["actions"]
    assert action["action"] == "reject" and action["status"] == "planned"
    unchecked = records[hashlib.sha256(other).hexdigest()]
    assert unchecked["gate"]["outcome"] == "refused_without_verdict"
    assert unchecked["gate"]["status"] == 200 and unchecked["gate"]["would_answer"] == 503
