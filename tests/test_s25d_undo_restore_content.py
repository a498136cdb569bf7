"""`modbot undo --restore-content` on Lemmy 0.19: its `BanPerson` / `BanFromCommunity`
with `remove_data` removes all the person's posts and comments whether `ban` is true or
false (`ban_person.rs`, `community/ban.rs` of 0.19.6 to 0.19.20 call `remove_user_data`;
the restore on unban, LemmyNet/lemmy#4845, was reverted before 0.19.6). So an unban
"restoring" their content would remove everything of theirs: refused before anything is
sent, said what to do, exit 2. On 1.0 (`remove_or_restore_data`) it restores. Through
`modbot.cli.main`, against the fake Lemmy 0.19 and 1.0."""

from __future__ import annotations

import json

import pytest
from support.acting import Scenario
from test_h24_undo_moderator_acted import run

from modbot.cli import main

RULES = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      ban: {scope: SCOPE, duration: permanent, remove_data: true, reason: "known abusive"}
"""

pytestmark = pytest.mark.both_lemmys


def banned(fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, scope: str):
    """The bot banned a known-bad post's author, removing their content."""
    s = Scenario(fake_lemmy, tmp_path, tiny_checkpoint, rules=RULES.replace("SCOPE", scope))
    monkeypatch.chdir(tmp_path)
    for name in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE"):
        monkeypatch.setenv(name, s.env[name])
    for name in ("MODBOT_RULES", "PICTRS_URL", "PICTRS_API_KEY"):
        monkeypatch.setenv(name, s.env[name])
    (post,) = s.add_bad_posts(1)
    author = fake_lemmy.person(post.creator_id)
    other = fake_lemmy.add_post(fake_lemmy.cast.pics, author, name="another post of theirs")
    assert main(["run", "--once"]) == 0
    assert fake_lemmy.post(other.id).removed  # the ban removed their content
    capsys.readouterr()
    assert main(["audit", "--json", "--item", f"post:{post.id}"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["records"]
    return s, post, other, record["id"]


def still_banned(lemmy, post, scope: str) -> bool:
    if scope == "site":
        return lemmy.person(post.creator_id).banned
    return (post.community_id, post.creator_id) in lemmy.community_bans


@pytest.mark.parametrize("scope", ["site", "community"])
def test_restore_content_is_refused_on_0_19_and_done_on_1_0(
    fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, scope
):
    s, post, other, decision = banned(
        fake_lemmy, tmp_path, tiny_checkpoint, monkeypatch, capsys, scope
    )
    s.lemmy.clear_requests()
    preview = run(capsys, "undo", str(decision), "--restore-content")
    code, out = run(capsys, "undo", str(decision), "--yes", "--restore-content")
    if s.lemmy.api_version == "v3":
        for said in (preview, (code, out)):
            assert said[0] == 2, said
            assert "Lemmy 0.19 cannot restore" in said[1] and "Nothing was sent" in said[1]
            assert "without --restore-content" in said[1], said
        assert s.lemmy.mutating_requests() == [], out
        assert still_banned(s.lemmy, post, scope) and s.lemmy.post(other.id).removed

        code, out = run(capsys, "undo", str(decision), "--yes")  # as it says
        assert code == 0, out
        assert not still_banned(s.lemmy, post, scope), out
        assert s.lemmy.post(other.id).removed, "0.19 restores nothing on unban"
    else:
        assert preview[0] == 0 and "Lemmy restores all their posts" in preview[1], preview
        assert code == 0, out
        assert not still_banned(s.lemmy, post, scope), out
        assert not s.lemmy.post(other.id).removed, "1.0 restored their content"
