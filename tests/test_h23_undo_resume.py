"""`modbot undo --yes` of many decisions when Lemmy fails part-way (502s past the
retries, a dropped login Lemmy will not renew): it stops at the first, says what was
done, what failed and what was not tried, exits 1, and the same command again finishes
the rest, each undo sent once. Through `modbot.cli.main`, Lemmy 0.19 and 1.0."""

from __future__ import annotations

import time

import pytest
from support.acting import Scenario

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""

pytestmark = pytest.mark.both_lemmys


@pytest.fixture
def removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys):
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    posts = s.add_bad_posts(5)
    assert main(["run", "--once"]) == 0
    assert all(fake_lemmy.post(p.id).removed for p in posts)
    capsys.readouterr()
    return s, posts


def restores(lemmy) -> list:
    path = lemmy.api_path("/api/v3/post/remove")
    return [
        r
        for r in lemmy.requests
        if r.path == path and r.status == 200 and (r.json or {}).get("removed") is False
    ]


def undo_all(capsys) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - started


def finish(s, posts, capsys) -> None:
    code, out, err, _ = undo_all(capsys)
    assert code == 0, out + err
    assert not any(s.lemmy.post(p.id).removed for p in posts)
    sent = sorted(r.json["post_id"] for r in restores(s.lemmy))
    assert sent == sorted(p.id for p in posts), "each restore sent once"


def test_lemmy_down_mid_undo_stops_at_once_and_the_rest_resumes(removed, capsys):
    s, posts = removed
    s.lemmy.fail_next(s.lemmy.api_path("/api/v3/post/remove"), times=6, status=502)
    code, out, err, took = undo_all(capsys)
    assert code == 1, out + err
    assert err.count("FAILED") == 1 and "HTTP 502" in err, err
    assert err.count("not tried (#") == 4, err
    assert "run the same command again to finish" in err, err
    assert took < 40, f"gave up on one undo, not on each: {took:.0f}s"
    assert all(s.lemmy.post(p.id).removed for p in posts)
    finish(s, posts, capsys)


def test_a_dropped_login_mid_undo_stops_at_once_and_the_rest_resumes(removed, capsys):
    s, posts = removed
    s.lemmy.invalidate_tokens("modbot")
    s.lemmy.fail_next(s.lemmy.api_path("/api/v3/user/login"), times=30)  # rate-limited
    code, out, err, took = undo_all(capsys)
    assert code == 1, out + err
    assert err.count("FAILED") == 1 and err.count("not tried (#") == 4, err
    assert took < 60, f"{took:.0f}s"
    assert all(s.lemmy.post(p.id).removed for p in posts)
    while s.lemmy.take_fault("lemmy", s.lemmy.api_path("/api/v3/user/login")):
        pass  # Lemmy takes logins again
    finish(s, posts, capsys)
