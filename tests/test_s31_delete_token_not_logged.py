"""An upload's delete token is a secret (anyone holding it deletes the file). Helper K
asked whether the transport, which names a request in its errors and retries, let it
through: it does not (httpx's request log, the retry's warning and a bad answer's
error all show `<delete-token>`). Regression tests: a 502 retried, a page that is not
Lemmy's."""

from __future__ import annotations

import logging

from test_lemmy_client import client_for


def test_a_retried_delete_logs_no_delete_token(fake_lemmy, photos, caplog):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    client = client_for(fake_lemmy, user="admin")
    fake_lemmy.fail_next(
        f"/pictrs/image/delete/{upload.delete_token}/{upload.alias}", times=1, status=502
    )
    with caplog.at_level(logging.DEBUG):
        client.delete_image(upload.alias, upload.delete_token)
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "retry 1/" in said, said  # the 502 was retried, and said
    assert upload.delete_token not in said, said
    assert not fake_lemmy.image_exists(upload.alias)


def test_a_delete_answered_with_a_page_not_lemmys_names_no_delete_token(fake_lemmy, photos, caplog):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    client = client_for(fake_lemmy, user="admin")
    fake_lemmy.fail_next(
        f"/pictrs/image/delete/{upload.delete_token}/{upload.alias}", times=1, status=200
    )
    with caplog.at_level(logging.DEBUG):
        try:
            client.delete_image(upload.alias, upload.delete_token)
        except Exception as exc:  # said, not lost: whatever the answer made of it
            caplog.records.append(logging.makeLogRecord({"msg": str(exc)}))
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert upload.delete_token not in said, said
