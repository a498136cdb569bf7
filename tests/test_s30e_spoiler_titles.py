"""Images written in a spoiler's title (``::: spoiler ![a](url)``) are shown by no one:
lemmy-ui renders the title with emphasis, strikethrough and code only. They came in
text order, so twenty of them before a real image put the real one past
``fetch.max_images_per_item``: recorded as too_many_images, never checked. Now they
come after the images a reader sees, as images in code do: still checked, dropped
first by the cap."""

from __future__ import annotations

from support.bot import sha
from support.policies import BAD

from modbot.images import image_refs
from modbot.model import Item

INSTANCE = "https://lemmy.example"

REMOVE = """
  - name: known abusive image
    if: {hash_list: known-bad}
    then:
      remove: "known abusive image"
"""


def order(text: str) -> list[str]:
    item = Item("comment", 1, None, "x", text=text)
    return [r.url.rsplit("/", 1)[1] for r in image_refs(item, instance_url=INSTANCE)]


def img(name: str) -> str:
    return f"![{name}](https://x.example/{name})"


def test_images_in_a_spoiler_title_come_after_those_a_reader_sees():
    assert order(f"::: spoiler {img('t1')}\n{img('s1')}\n:::\n{img('s2')}") == ["s1", "s2", "t1"]
    # however written: more colons, no space, in a block quote, indented
    assert order(f":::::spoiler  x {img('t1')}\n{img('s1')}\n:::::") == ["s1", "t1"]
    assert order(f"> ::: spoiler {img('t1')}\n> {img('s1')}\n> :::") == ["s1", "t1"]
    assert order(f"   ::: spoiler {img('t1')}\n{img('s1')}\n:::") == ["s1", "t1"]


def test_what_is_no_spoiler_title_keeps_its_place():
    # no title: no spoiler to lemmy-ui, the line is text; another container is not one
    assert order(f"::: spoiler\n{img('s1')}\n:::\n::: note {img('s2')}") == ["s1", "s2"]
    # the body of a spoiler is shown (when opened); a title's next line is body
    assert order(f"::: spoiler x\n{img('s1')} {img('s2')}\n:::") == ["s1", "s2"]
    # text before ":::" on the line: no container
    assert order(f"a ::: spoiler {img('s1')}") == ["s1"]


def test_spoiler_title_images_do_not_push_the_real_one_past_the_cap(
    fake_lemmy, photos, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_remote_file("shown.jpg", photos[BAD])
    for i in range(20):
        lemmy.add_remote_file(f"title{i}.jpg", photos["chelsea"])
    titles = "".join(
        f"::: spoiler ![t]({lemmy.remote_url}/title{i}.jpg)\nsee\n:::\n" for i in range(20)
    )
    post = lemmy.add_post(cast.pics, cast.alice, name="a post")
    comment = lemmy.add_comment(post, cast.bob, content=f"{titles}\n![x]({bad})")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=REMOVE)
    stats = pipeline.poll_once(deep=True)

    assert lemmy.comment(comment.id).removed, stats
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == comment.id]
    skipped = [r["image"]["url"] for r in records if r.get("skipped") == "too_many_images"]
    assert skipped == [f"{lemmy.remote_url}/title19.jpg"], records
