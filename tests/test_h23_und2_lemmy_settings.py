"""`modbot undo --yes` talks to Lemmy as `modbot run` does: with the rules file's
`lemmy:` settings (`api`, `requests_per_minute`, `timeout`), the rules file named as run
names it (--rules, $MODBOT_RULES, ./rules.yaml). A rules file that cannot be read, or
whose `lemmy:` section is not valid, does not block an undo: it says so and uses the
defaults; a mistake elsewhere in the file (a rule) leaves its `lemmy:` section in use.
Through `modbot.cli.main` against the fake Lemmy."""

from __future__ import annotations

import itertools
import logging
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
# What a proxy in front of Lemmy may hide: what undo would ask to learn the API version.
DETECTION = ("/nodeinfo/2.1", "/api/v4/site", "/api/v3/site")


def removed(lemmy, tmp_path, checkpoint, monkeypatch, n: int) -> tuple[Scenario, list]:
    s = Scenario(lemmy, tmp_path, checkpoint, rules=RULES)
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    posts = s.add_bad_posts(n)
    assert main(["run", "--once"]) == 0
    assert all(lemmy.post(p.id).removed for p in posts)
    return s, posts


def set_lemmy(s: Scenario, settings: str, *, broken_rule: bool = False) -> None:
    """The rules file's `lemmy:` section replaced (after the run that removed)."""
    text = s.rules.read_text()
    start = text.index("lemmy: {")
    text = text[:start] + f"lemmy: {settings}" + text[text.index("}", start) + 1 :]
    if broken_rule:  # a typo in a rule: `modbot run` would refuse the file
        text = text.replace("remove: ", "remvoe: ")
    s.rules.write_text(text)


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
@pytest.mark.parametrize("broken_rule", [False, True], ids=["valid", "a rule broken"])
def test_lemmy_api_v4_is_used_where_the_version_cannot_be_asked(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, broken_rule
):
    s, posts = removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, 1)
    set_lemmy(s, "{api: v4, requests_per_minute: 60000, timeout: 10s}", broken_rule=broken_rule)
    for path in DETECTION:  # hidden by the proxy (run is told `lemmy.api: v4` too)
        fake_lemmy.fail_next(path, times=100, status=404)
    capsys.readouterr()
    since = len(fake_lemmy.requests)

    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert not fake_lemmy.post(posts[0].id).removed, out + err
    asked = [r.path for r in fake_lemmy.requests[since:]]
    assert not set(asked) & set(DETECTION), asked
    assert not [p for p in asked if p.startswith("/api/v3/")], asked
    assert "warning" not in err, err


@pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)
def test_requests_per_minute_of_the_rules_file_is_kept(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys
):
    s, posts = removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, 3)
    set_lemmy(s, "{requests_per_minute: 40}")  # one request each 1.5 s
    monkeypatch.setenv("MODBOT_RULES", str(tmp_path / "not-this-one.yaml"))
    capsys.readouterr()
    since = len(fake_lemmy.requests)

    code = main(["undo", "--rule", "known abusive image", "--yes", "--rules", str(s.rules)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert not any(fake_lemmy.post(p.id).removed for p in posts), out + err
    assert "warning" not in err, err
    # (the API version is asked first, by a client of its own)
    sent = [r for r in fake_lemmy.requests[since:] if r.path.startswith("/api/")]
    assert len(sent) >= 3, [r.path for r in sent]
    gaps = [b.at - a.at for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1.3, f"lemmy.requests_per_minute 40 is one request each 1.5 s: {gaps}"


@pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)
def test_the_timeout_of_the_rules_file_is_kept(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, caplog
):
    s, posts = removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, 1)
    set_lemmy(s, "{requests_per_minute: 60000, timeout: 1s}")
    fake_lemmy.delay(fake_lemmy.api_path("/api/v3/post/remove"), 3, times=1)
    capsys.readouterr()

    with caplog.at_level(logging.WARNING):
        code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    # the restore that answered only after 3 s was given up at 1 s (the rules file's
    # timeout), and not sent again blind: Lemmy may have carried it out (8623bdf)
    assert "within lemmy.timeout, 1 s" in caplog.text, caplog.text
    assert code == 1 and "not sent again" in out + err, out + err
    time.sleep(2.5)  # the fake answers the slow restore
    assert not fake_lemmy.post(posts[0].id).removed, "Lemmy had carried it out"
    # undo again: it finds the post restored and sends nothing more
    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    path = fake_lemmy.api_path("/api/v3/post/remove")
    restores = [r for r in fake_lemmy.requests if r.path == path and r.json.get("removed") is False]
    assert len(restores) == 1, "the restore was sent once"


@pytest.mark.parametrize("fake_lemmy", ["0.19"], indirect=True)
@pytest.mark.parametrize(
    "spoil",
    ["yaml", "lemmy section", "missing"],
)
def test_a_rules_file_that_gives_no_lemmy_settings_is_said_and_undo_still_works(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, spoil
):
    s, posts = removed(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, 1)
    if spoil == "yaml":
        s.rules.write_text(s.rules.read_text() + "\n  - name: [unclosed\n")
    elif spoil == "lemmy section":
        set_lemmy(s, "{api: v5}")
    else:
        s.rules.unlink()
    capsys.readouterr()

    code = main(["undo", "--rule", "known abusive image", "--yes"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert not fake_lemmy.post(posts[0].id).removed, out + err
    assert f"warning: the rules file {s.rules}" in err, err
    assert "defaults" in err and "lemmy.api auto" in err, err
    if spoil == "lemmy section":
        assert "rules.yaml:" in err and "v5" in err, err
    if spoil == "missing":
        assert "no such file" in err, err
