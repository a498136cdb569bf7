"""docs/rules.md's "Python API" section says what the code offers: its imports work, and
the order it gives for a plan's actions is the order a plan has."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from modbot.config.policy import load_policy
from modbot.rules import Subject

DOC = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text()
SECTION = DOC.split("## For developers: the Python API", 1)[1]


def test_the_documented_imports_work():
    block = SECTION.split("```python", 1)[1].split("```", 1)[0]
    imports = [line for line in block.splitlines() if line.startswith(("from ", "import "))]
    assert imports
    for line in imports:
        exec(line, {})  # an ImportError here: the doc names what is not there


def test_the_documented_order_of_a_plans_actions(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        textwrap.dedent(
            """
            rules:
              - name: everything
                if: {labels: nsfw}
                then:
                  remove: true
                  purge_image: true
                  purge_item: true
                  delete_image: true
                  ban: {duration: 1d}
                  report: "look"
                  notify_admins: "told"
            """
        )
    )
    plan = load_policy(path).decide(Subject(item_kind="post", found_in="body", labels=("nsfw",)))
    said = SECTION.split("`Plan.actions`", 1)[1].split(". `reason`", 1)[0]
    documented = [k for k in re.findall(r"`([a-z_]+)`", said) if k != "reject"]
    assert documented == [a.kind for a in plan.actions]
