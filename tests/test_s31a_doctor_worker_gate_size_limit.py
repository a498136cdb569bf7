"""`modbot doctor` says a remote worker takes smaller files than the upload gate sends
it (its --max-bytes under gate.max_bytes): every upload between the two is refused by
the worker and gets gate.on_timeout (stored unchecked, or refused), with no verdict.
Before, doctor checked the workers' limit against fetch.max_bytes only (the bot's), so
with a gate in use it said "ok" while the gate's own start warned (72339d6 left this)."""

from __future__ import annotations

from support.policies import write_rules
from support.worker import TOKEN
from test_doctor_model import doctor, with_classifier  # noqa: F401 (a fixture)

GATE_RULE = """
  - name: probe at the door
    if: {type: incoming, labels: [probe]}
    then: {reject: true}
"""


def rules_with(tmp_path, fake_lemmy, tiny, worker, *, fetch: str, gate: str):
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny, fetch=fetch),
        f'\n  allow_random_weights: true\n  remote: {{urls: ["{worker.url}"]}}',
    )
    text = rules.read_text()
    assert text.rstrip().endswith("rules:") or "rules:\n" in text
    rules.write_text(text.rstrip("\n") + GATE_RULE + gate)
    return rules


def test_doctor_warns_of_a_worker_under_gate_max_bytes(
    fake_lemmy,
    tiny,
    worker,
    tmp_path,
    doctor,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    # the test worker takes 40 MiB (its default, pict-rs' own); fetch.max_bytes is 25 MB (fine)
    rules = rules_with(
        tmp_path, fake_lemmy, tiny, worker, fetch="", gate="gate: {max_bytes: 50MB}\n"
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("warn"), line
    # before: nothing of the worker's size limit (fetch.max_bytes is under it)
    assert f"classifier worker {worker.url} takes images of at most 41,943,040 bytes" in line
    assert "50,000,000 bytes of gate.max_bytes" in line and "--max-bytes 50000000" in line
    assert "fetch.max_bytes" not in line, "only the setting it is under"


def test_doctor_names_both_settings_a_worker_is_under(
    fake_lemmy,
    tiny,
    worker,
    tmp_path,
    doctor,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    rules = rules_with(
        tmp_path,
        fake_lemmy,
        tiny,
        worker,
        fetch=", max_bytes: 45MB",
        gate="gate: {max_bytes: 50MB}\n",
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert "45,000,000 bytes of fetch.max_bytes" in line, line
    assert "50,000,000 bytes of gate.max_bytes" in line, line
