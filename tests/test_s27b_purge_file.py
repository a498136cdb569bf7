"""A file's purge through pict-rs is one piece of code for both Lemmy versions: the same
aliases purged, the same refusals in the same words (a read-only client, no pict-rs key)."""

import pytest

from modbot.config.settings import Secret
from modbot.lemmy import LemmyError, ReadOnlyError
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def client_for(lemmy, *, pictrs=True, **kwargs):
    cls = LemmyClientV4 if lemmy.api_version == "v4" else LemmyClient
    keys = {}
    if pictrs:
        keys = {"pictrs_url": lemmy.pictrs_url, "pictrs_api_key": Secret(lemmy.pictrs_api_key)}
    return cls(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, **keys, **kwargs)


@pytest.mark.both_lemmys
def test_purge_file_purges_every_alias_and_refuses_alike(fake_lemmy, photos):
    cast = fake_lemmy.cast
    one = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    two = fake_lemmy.add_upload(cast.admin, photos["chelsea"])  # the same bytes
    keep = fake_lemmy.add_upload(cast.alice, photos["coffee"])

    read_only = client_for(fake_lemmy, read_only=True)
    with pytest.raises(ReadOnlyError, match="pict-rs purge"):
        read_only.purge_file(one.alias)
    assert fake_lemmy.mutating_requests() == []

    without = client_for(fake_lemmy, pictrs=False)
    assert not without.can_purge_files
    with pytest.raises(LemmyError) as refused:
        without.purge_file(one.alias)
    assert str(refused.value) == (
        "purging a file needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY"
    )
    assert fake_lemmy.image_exists(one.alias)

    client = client_for(fake_lemmy)
    assert client.can_purge_files
    assert sorted(client.purge_file(one.alias)) == sorted([one.alias, two.alias])
    assert not fake_lemmy.image_exists(one.alias) and not fake_lemmy.image_exists(two.alias)
    assert fake_lemmy.image_exists(keep.alias)
    assert client.purge_file(one.alias) == []  # gone already: nothing more purged
