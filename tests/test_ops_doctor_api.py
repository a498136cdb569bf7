"""`modbot doctor` checks the API rules.yaml pins (lemmy.api) against the one the
instance speaks, as `modbot run` finds out when its actions fail."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.mark.parametrize(
    "fake_lemmy, pinned, speaks",
    [("1.0", "v3", "v4"), ("0.19", "v4", "v3")],
    indirect=["fake_lemmy"],
    ids=["v3-on-1.0", "v4-on-0.19"],
)
def test_rules_pinning_an_api_the_instance_lacks_is_a_failure(
    fake_lemmy, pinned, speaks, tiny, tmp_path, monkeypatch, capsys
):
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    text = rules.read_text().replace("lemmy: {", f"lemmy: {{api: {pinned}, ", 1)
    rules.write_text(text)
    values = {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(rules),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    status = main(["doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    (lemmy,) = [line for line in out.splitlines() if line.split()[1:2] == ["lemmy"]]
    assert status == 1 and lemmy.startswith("FAIL"), out
    assert f"speaks API {speaks}, but rules.yaml has lemmy.api: {pinned}" in lemmy, out
    assert f"Set lemmy.api: auto (or {speaks})" in lemmy
