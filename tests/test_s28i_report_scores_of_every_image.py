"""The HTML report shows the scores of every image it checked, also of one no rule
matched, as the README says ("each decision with ... the hash, the scores and what each
means").

Before: the "Checked, no rule matched" rows had the item, the image link, the hash and
the labels only: how near an image came to a label (csam -0.004) was in the JSON alone,
and an image with a label no rule acts on showed the label without its score. Now each
such row has its scores with what each means, as the cards with a rule do."""

from __future__ import annotations

import html
import re

from support.bot import Bot, remote_photo
from support.policies import write_rules


def test_an_image_no_rule_matched_has_its_scores_in_the_report(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.alice, name="c", url=remote_photo(lemmy, photos, "coffee", "c.jpg")
    )
    rules = write_rules(tmp_path, lemmy, tiny)
    bot = Bot(lemmy, tmp_path, rules)
    bot("run", "--once", "--dry-run", "--report", "run.html")
    bot("report", "--since", "7d", "--out", "report.html")
    assert lemmy.mutating_requests() == []
    (decision,) = [d for d in bot.decisions() if d["item"]["id"] == post.id]
    assert decision["rule"] is None and decision["scores"]

    for name in ("run.html", "report.html"):
        page = (tmp_path / name).read_text()
        section = page.split("Checked, no rule matched (1)", 1)[1]
        (row,) = re.findall(r"<tr><td>.*?</tr>", section, flags=re.S)
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row)))
        assert f"post {post.id}" in text
        for label, score in decision["scores"].items():
            said = f"{score:+.4f}".replace("-", "\u2212")
            fires = "yes" if score > 0 else "no"
            assert f"{label} {said} (fires at > 0: {fires})" in text, (name, text)
        assert "<th>labels, scores</th>" in section
