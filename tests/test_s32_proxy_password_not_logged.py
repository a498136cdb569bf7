"""A LEMMY_URL with a proxy's basic-auth login (``https://user:password@lemmy.example``,
docs/configuration.md: "the password is never logged nor recorded") had the password in
the daemon's and `run --once`'s start line ("modbot live on http://gate:PASSWORD@...",
journald, docker logs) and in the names of the state's login cursors (the state file).
Now neither holds it; a token kept under an older modbot's name is taken up (no second
login) and that name removed."""

from __future__ import annotations

import sqlite3

from support.bot import Bot
from support.policies import write_sweep_rules

PASSWORD = "pr0xy-S3cret"


def test_the_proxy_password_is_in_no_log_line_nor_the_state(fake_lemmy, tiny_checkpoint, tmp_path):
    lemmy = fake_lemmy
    bot = Bot(lemmy, tmp_path, write_sweep_rules(tmp_path, lemmy, tiny_checkpoint))
    url = lemmy.url.replace("http://", f"http://gate:{PASSWORD}@")
    bot.env["LEMMY_URL"] = url
    state = bot.state
    first = bot("run", "--once")
    assert PASSWORD not in first.stdout + first.stderr, first.stderr[-2000:]
    assert "modbot live on " in first.stderr
    with sqlite3.connect(state) as db:
        names = [n for (n,) in db.execute("SELECT name FROM cursors")]
        assert any(n.startswith("session:") for n in names), names
        assert not [n for n in names if PASSWORD in n], names
        token = db.execute("SELECT value FROM cursors WHERE name LIKE 'session:%'").fetchone()[0]
        # a token an older modbot kept under a name with the password in it
        db.execute("DELETE FROM cursors WHERE name LIKE 'session:%'")
        db.execute("INSERT INTO cursors VALUES (?, ?)", (f"session:{url}:modbot", token))
    logins = len([r for r in lemmy.requests if r.path.endswith("/user/login")])
    again = bot("run", "--once")
    assert PASSWORD not in again.stdout + again.stderr
    assert len([r for r in lemmy.requests if r.path.endswith("/user/login")]) == logins
    with sqlite3.connect(state) as db:
        names = [n for (n,) in db.execute("SELECT name FROM cursors")]
    assert not [n for n in names if PASSWORD in n], names
