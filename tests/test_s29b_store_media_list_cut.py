"""`modbot sweep --store` on Lemmy 0.19 says when the media list it reads for the files'
uploaders stopped at Lemmy's page limit.

Before: 0.19 lists no further than page 100 of its media list (the newest 5,000
uploads). The store sweep read it to that limit and went on: the files of older uploads
had no known uploader, so a ban fell back to whoever posted the file (or nobody), and
`--local` left them out as not local. A log line said the limit once, among thousands;
the summary, the warnings at the end and the --report said nothing. Now the limit is
one of the sweep's warnings, with how far back the list reached and what it means."""

from __future__ import annotations

import json

from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.lemmy import v3

SAID = "store sweep: Lemmy's media list: uploads older than "
LIMIT = "Lemmy 0.19 lists no further than page 2 (10 uploads)"


def _warned(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"warning: {SAID}")]


def test_a_store_sweep_says_the_media_list_stopped_at_lemmys_page_limit(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    for i in range(11):  # past 2 pages of 5: the page limit, scaled down
        lemmy.add_upload(lemmy.cast.alice, jpeg(i))
    monkeypatch.setattr(v3, "PAGE", 5)
    monkeypatch.setattr(v3, "MAX_PAGE", 2)
    rules = write_rules(tmp_path, lemmy, tiny, rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)

    assert (
        main(
            [
                "sweep",
                "--store",
                "--files-per-second",
                "0",
                "--dry-run",
                "--local",
                "--report",
                "r.json",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "done: 11 of 11 stored files walked; 10 items" in out, out  # the oldest: not local
    warned = _warned(out)
    assert len(warned) == 1 and LIMIT in warned[0], out
    assert "a ban falls back to who posted the file" in warned[0]
    assert "--local leaves their files out" in warned[0]
    warnings = json.loads((tmp_path / "r.json").read_text())["summary"]["warnings"]
    assert [w for w in warnings if SAID in w] == [warned[0].removeprefix("warning: ")]
    assert lemmy.mutating_requests() == []
