"""An image whose decode ran out of memory (the machine short, not the file broken) is
looked at again: its item is not marked seen, and the next poll classifies it. Before,
8840f8e made it an error (no longer a kept `unreadable` verdict), but `classifier_error`
marked the item seen: never looked at again, its image never judged."""

from __future__ import annotations

from support.bot import remote_photo

import classifier.engine


def test_an_image_whose_decode_ran_out_of_memory_is_classified_next_poll(
    fake_lemmy, photos, pipeline_for, monkeypatch
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = remote_photo(lemmy, photos, "coffee", "big.jpg")
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", body=f"![x]({url})")
    pipeline = pipeline_for(lemmy)
    real, short = classifier.engine.decode_image, [True]

    def decode_image(*args, **kwargs):
        if short.pop() if short else False:
            raise MemoryError("cannot allocate 512 MB")
        return real(*args, **kwargs)

    monkeypatch.setattr(classifier.engine, "decode_image", decode_image)
    pipeline.poll_once(deep=True)
    first = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert [r["skipped"] for r in first] == ["classifier_unavailable"], first
    assert "out of memory" in first[0]["skipped_detail"]
    pipeline.poll_once(deep=True)
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert len(records) == 2 and records[-1]["skipped"] is None, records[-1]
    assert records[-1]["scores"]


def test_an_image_the_decoding_processes_could_not_decode_is_looked_at_again(
    fake_lemmy, photos, pipeline_for, monkeypatch
):
    from classifier.decode_processes import DecoderUnavailable

    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = remote_photo(lemmy, photos, "coffee", "big.jpg")
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", body=f"![x]({url})")
    pipeline = pipeline_for(lemmy)
    real, down = classifier.engine.decode_image, [True]

    def decode_image(*args, **kwargs):
        if down.pop() if down else False:
            raise DecoderUnavailable("the decoding processes do not start")
        return real(*args, **kwargs)

    monkeypatch.setattr(classifier.engine, "decode_image", decode_image)
    pipeline.poll_once(deep=True)
    pipeline.poll_once(deep=True)
    records = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert [r["skipped"] for r in records] == ["classifier_unavailable", None], records
