"""A resumed sweep's summary counts the posts whose comments its earlier part could not
read.

Before: "comments of N posts not read" was counted per run. A sweep stopped (SIGTERM)
after its posts and resumed printed the kept warnings, but its closing summary left
those posts out, and the resumed part does not read their comments again (it starts
past the posts). Now the walk keeps those counts beside its position, written with its
moves, and the run that ends the walk says them; a page read again on resuming is not
counted twice; they are forgotten with the position."""

from __future__ import annotations

import os
import re
import signal

from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.lemmy import v3

NOT_READ = re.compile(r"comments of (\d+) posts? not read \(Lemmy error\): posts? ([\d, .]+)")


def _summary(out: str) -> str:
    lines = [line for line in out.splitlines() if re.match(r"sweep \S+ \(dry-run\) ", line)]
    assert lines, out
    return lines[-1]


def _comment_reads(lemmy) -> list[str]:
    return [
        r.query.get("post_id", "")
        for r in lemmy.requests
        if r.server == "lemmy" and r.path == "/api/v3/comment/list"
    ]


def _bot(lemmy, tiny, tmp_path, monkeypatch) -> list[int]:
    posts = []
    for name in ("a", "b"):
        post = lemmy.add_post(lemmy.cast.pics, lemmy.cast.alice, name=name)
        lemmy.add_comment(post, lemmy.cast.bob, content=f"on {name}")
        posts.append(post.id)
    rules = write_rules(tmp_path, lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    return posts


def test_a_sweep_stopped_after_its_posts_counts_them_when_resumed(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    posts = _bot(lemmy, tiny, tmp_path, monkeypatch)
    lemmy.fail_next("/api/v3/comment/list", times=2, status=400, error="unknown")
    removed_posts = v3.LemmyClient.removed_posts

    def then_sigterm(client, cursor, **kw):  # the operator stops it past the posts
        os.kill(os.getpid(), signal.SIGTERM)
        return removed_posts(client, cursor, **kw)

    monkeypatch.setattr(v3.LemmyClient, "removed_posts", then_sigterm)
    assert main(["sweep", "--dry-run"]) == 130
    out = capsys.readouterr().out
    said = NOT_READ.search(_summary(out))
    assert said and said.group(1) == "2", out
    monkeypatch.setattr(v3.LemmyClient, "removed_posts", removed_posts)

    # resumed past the posts: their comments are not read again, and the summary of the
    # run that ends the walk still names them
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert " (dry-run) done: " in out, out
    assert _comment_reads(lemmy) == []
    said = NOT_READ.search(_summary(out))
    assert said, out
    assert said.group(1) == "2", out
    assert sorted(int(i) for i in said.group(2).strip(" ,.").split(", ")) == sorted(posts), out

    # forgotten with the position: the next walk, from its start, reads their comments
    lemmy.clear_requests()
    assert main(["sweep", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert sorted(int(i) for i in _comment_reads(lemmy)) == sorted(posts)
    assert "not read" not in _summary(out), out
    assert lemmy.mutating_requests() == []


def test_a_page_read_again_on_resuming_is_not_counted_twice(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    """Stopped while the first page's comments are read: that page is read again by the
    run that resumes it, where the comments are read fine; nothing is said not read."""
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    lemmy.fail_next("/api/v3/comment/list", times=1, status=400, error="unknown")
    comments = v3.LemmyClient.comments
    stopped = []

    def sigterm_once(client, *args, **kw):
        if not stopped:
            stopped.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return comments(client, *args, **kw)

    monkeypatch.setattr(v3.LemmyClient, "comments", sigterm_once)
    assert main(["sweep", "--dry-run"]) == 130
    out = capsys.readouterr().out
    said = NOT_READ.search(_summary(out))
    assert said and said.group(1) == "1", out  # this run's, as it was
    monkeypatch.setattr(v3.LemmyClient, "comments", comments)

    assert main(["sweep", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert " (dry-run) done: " in out, out
    assert "not read" not in _summary(out), out
