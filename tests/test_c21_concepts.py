"""Concept names and a worker's concept limits in rules.yaml, from one source: with
classifier.remote, a bad concept name is said at its line like without, and does not
hide the file's other problems."""

from __future__ import annotations

from pathlib import Path

from modbot.config.checks import validate

REMOTE = "classifier: {remote: 'https://worker.example:8095'}\n"
CONCEPTS = """\
concepts:
  nsfw: {prompts: [a], threshold: 0.2}
  Bad-Name: {prompts: [b], threshold: 0.2}
  gore: {prompts: [c], threshold: 0.2}
"""


def problems(text: str, tmp_path: Path) -> list[tuple[int, str]]:
    checked = validate(text, "rules.yaml", tmp_path)
    return [(p.line, p.message) for p in checked.problems if not p.warning]


def test_bad_concept_names_are_said_at_their_lines_with_a_remote_classifier(tmp_path):
    local = problems(CONCEPTS, tmp_path)
    remote = problems(REMOTE + CONCEPTS, tmp_path)
    assert [(line + 1, message) for line, message in local] == remote
    assert [line for line, _ in remote] == [3, 4]
    assert "'nsfw' has the name of a built-in label or score" in remote[0][1]
    assert "use 1-40 lower-case letters" in remote[1][1]


def test_a_worker_limit_is_said_at_the_concepts(tmp_path):
    long = "x" * 301
    text = REMOTE + f"concepts:\n  gore: {{prompts: [{long}], threshold: 0.2}}\n"
    ((line, message),) = problems(text, tmp_path)
    assert line == 3  # the concepts
    assert "a classifier worker refuses them" in message
    assert "longer than 300 characters" in message and "(classifier.remote)" in message
