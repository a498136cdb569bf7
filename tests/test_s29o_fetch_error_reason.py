"""An image whose download failed in a way modbot did not foresee (a bug, a library's
error) is recorded ``fetch_error`` with what went wrong, not the exception's class name
alone, and the log says it without the password or token a URL in it carried (its URLs
are redacted as the log's are: no user info, no secret parameters)."""

from __future__ import annotations

from support.bot import remote_photo

from modbot.fetch import Fetcher


def test_an_unforeseen_fetch_error_is_recorded_with_its_message(
    fake_lemmy, photos, tiny, pipeline_for, monkeypatch, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = remote_photo(lemmy, photos, tiny.others[0])
    post = lemmy.add_post(cast.pics, cast.bob, name="new", url=url)

    async def broken(self, urls, *args, **kwargs):
        raise RuntimeError("pool broke on http://u:hunter2@x.example/a.jpg?token=abc&w=1")

    monkeypatch.setattr(Fetcher, "fetch_first", broken)
    pipeline = pipeline_for(lemmy, dry_run=True)
    pipeline.poll_once()
    [record] = [r for r in pipeline.store.decisions() if r["item"]["id"] == post.id]
    assert record["skipped"] == "fetch_error"
    assert record["skipped_detail"] == (
        "RuntimeError: pool broke on http://x.example/a.jpg?token=***&w=1"
    )
    # the log says it too, as redacted: never a password or a token
    assert "failed unexpectedly: RuntimeError: pool broke on http://x.example/" in caplog.text
    assert "hunter2" not in caplog.text and "token=abc" not in caplog.text
