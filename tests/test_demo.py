"""`modbot demo` through the installed entry point, in an empty working directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def modbot_command() -> list[str]:
    script = Path(sys.executable).with_name("modbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "modbot"]


def test_demo_writes_both_reports_and_says_it_runs_the_test_model(tmp_path):
    # An empty Hugging Face cache: no real weights, so the demo must fall back.
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hf"), "HF_HOME": str(tmp_path / "hf")}
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_RULES", "MODBOT_STATE"):
        env.pop(name, None)
    work = tmp_path / "cwd"
    work.mkdir()
    done = subprocess.run(
        [*modbot_command(), "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "TEST MODEL" in out and "RANDOM weights" in out
    assert "requests that changed anything on the instance: 0 (dry run)" in out
    assert "known abusive image" in out
    assert sorted(p.name for p in work.iterdir()) == [
        "modbot-demo-report.html",
        "modbot-demo-report.json",
    ]

    doc = json.loads((work / "modbot-demo-report.json").read_text())
    summary, decisions = doc["summary"], doc["decisions"]
    assert summary["random_weights"] is True and summary["dry_run"] is True
    assert summary["requests_that_changed_something"] == 0
    assert {d["image"]["location"] for d in decisions} == {
        "post_url",
        "thumbnail",
        "body",
        "comment",
        "upload",
    }
    assert any("image_proxy" in d["image"]["url"] for d in decisions)
    known = [d for d in decisions if d["rule"] == "known abusive image"]
    assert known and all(d["hash_match"] == {"known-bad": "sha256"} for d in known)
    post = next(d for d in known if d["item"]["kind"] == "post")
    assert [(a["action"], a["status"]) for a in post["actions"]] == [
        ("remove", "planned"),
        ("purge_image", "planned"),
        ("ban", "planned"),
        ("notify_admins", "planned"),
    ]
    skipped = {d["skipped"] for d in decisions if d["skipped"]}
    assert {"private_address", "not_an_image"} <= skipped
    unreadable = [d for d in decisions if d["unreadable"]]
    assert len(unreadable) >= 2, "the truncated JPEG and the bomb are decoded by nobody"
    assert all(
        d["rule"] == "image could not be checked" for d in unreadable if d["item"]["kind"] == "post"
    )
    assert all(d["dry_run"] and d["random_weights"] for d in decisions if not d["skipped"])

    page = (work / "modbot-demo-report.html").read_text()
    assert "TEST MODEL: scores are meaningless" in page and "DRY RUN" in page
    assert "<img" not in page.lower() and "data:" not in page.lower()
    if shutil.which("chromium"):
        root = Path(__file__).resolve().parents[1]
        subprocess.run(
            [
                str(root / "scripts" / "render-report.sh"),
                str(work / "modbot-demo-report.html"),
                str(tmp_path / "demo.png"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert (tmp_path / "demo.png").stat().st_size > 10_000
