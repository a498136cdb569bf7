"""classifier.deepdanbooru in rules.yaml and DeepDanbooru's score names, through
`modbot check-rules` and the policy loader."""

from __future__ import annotations

import textwrap

from support.check_rules import check, problems, write

from modbot.config.policy import load_policy


def test_the_setting_takes_auto_off_or_a_path_relative_to_the_rules(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    assert load_policy(rules).deepdanbooru_setting == "auto"
    rules.write_text("classifier: {deepdanbooru: off}\nrules: []\n")
    assert load_policy(rules).deepdanbooru_setting == "off"
    rules.write_text("classifier: {deepdanbooru: weights/dd.pt}\nrules: []\n")
    assert load_policy(rules).deepdanbooru_setting == str(tmp_path / "weights" / "dd.pt")


def test_deepdanbooru_scores_are_known_and_reserved(tmp_path):
    rc, out = check(
        tmp_path,
        write(
            tmp_path,
            """
        rules:
          - name: explicit anime
            if: {labels: anime, scores: {danbooru_explicit: "> 0.2", "danbooru:bikini": "> 0"}}
            then: {report: "anime {{scores.danbooru_nsfw}}"}
        """,
        ),
    )
    assert rc == 0, out
    out = problems(
        tmp_path,
        textwrap.dedent("""
        concepts:
          danbooru_nsfw: {prompts: ["porn"], threshold: 0.2}
        rules:
          - name: x
            if: {scores: {"danbooru:": "> 0", danboru_nsfw: "> 0"}}
            then: {report: x}
        """),
    )
    assert out[0].startswith(
        "rules.yaml:2: concept 'danbooru_nsfw' has the name of a built-in label or score"
    )
    assert out[1].startswith("rules.yaml:5: unknown score 'danbooru:'")
    assert "(did you mean 'danbooru_nsfw'?)" in out[2] and "DeepDanbooru's: danbooru_nsfw" in out[2]
