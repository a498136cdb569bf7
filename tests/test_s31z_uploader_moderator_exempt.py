"""A rule's own exemption holds for everyone it would act on. `ban: {uploader: true}`
bans the person who uploaded the image when someone else posted it; the uploader
exemption applied only the global exemptions (exempt.users, communities, allow-lists),
so an uploader who moderates the post's community was banned by a rule that exempts
moderators (`exempt.moderators: true` here, the rule saying nothing), from the site or
from the very community they moderate. Now the uploader is spared as the author would
be: the ban's audit row says so; a rule with `moderators_exempt: false` still bans.
The rules match posts only: a rule matching the upload itself acts on its uploader as
its author (an upload has no community, so no moderator's exemption)."""

import pytest
from support.bot import sha
from support.policies import BAD


def rules(scope: str, exempt: str = "") -> str:
    return f"""
  - name: known abusive image
    priority: 100{exempt}
    if: {{hash_list: known-bad, type: post}}
    then:
      remove: "known abusive image"
      ban: {{scope: {scope}, duration: 7d, uploader: true, reason: "known abusive"}}
"""


def ban_of(pipeline, post):
    (record,) = [
        r
        for r in pipeline.store.decisions()
        if (r["item"]["kind"], r["item"]["id"]) == ("post", post.id)
    ]
    (ban,) = [a for a in record["actions"] if a["action"] == "ban"]
    return ban


def banned_ids(lemmy) -> set[int]:
    """Everyone a ban request of modbot's named (site or community)."""
    paths = {lemmy.api_path("/api/v3/user/ban"), lemmy.api_path("/api/v3/community/ban_user")}
    return {
        r.json["person_id"]
        for r in lemmy.requests
        if r.path in paths and r.method == "POST" and r.json.get("ban")
    }


@pytest.mark.both_lemmys
@pytest.mark.parametrize("scope", ["site", "community"])
def test_an_uploader_moderating_the_community_is_spared_by_a_rule_exempting_moderators(
    fake_lemmy, photos, tiny, pipeline_for, scope
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    art = lemmy.add_community("art", moderators=[carol.id])
    upload = lemmy.add_upload(carol, photos[BAD])
    post = lemmy.add_post(art, cast.bob, name="look", url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules(scope))
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert banned_ids(lemmy) == {cast.bob.id}, ban  # the author only
    assert not lemmy.person(carol.id).banned
    assert (art.id, carol.id) not in lemmy.community_bans
    assert "the uploader moderates this community" in ban["detail"], ban


@pytest.mark.both_lemmys
def test_a_rule_not_exempting_moderators_still_bans_the_uploader_moderating(
    fake_lemmy, photos, tiny, pipeline_for
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    art = lemmy.add_community("art", moderators=[carol.id])
    upload = lemmy.add_upload(carol, photos[BAD])
    lemmy.add_post(art, cast.bob, name="look", url=upload.url)
    rule = rules("site", "\n    moderators_exempt: false")
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rule)
    pipeline.poll_once(deep=True)
    assert banned_ids(lemmy) == {cast.bob.id, carol.id}


@pytest.mark.both_lemmys
def test_an_uploader_moderating_another_community_is_banned(fake_lemmy, photos, tiny, pipeline_for):
    """The exemption is the moderator's in the community they moderate, as the author's."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    lemmy.add_community("art", moderators=[carol.id])
    upload = lemmy.add_upload(carol, photos[BAD])
    lemmy.add_post(cast.pics, cast.bob, name="look", url=upload.url)
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules("site"))
    pipeline.poll_once(deep=True)
    assert banned_ids(lemmy) == {cast.bob.id, carol.id}


@pytest.mark.both_lemmys
@pytest.mark.parametrize("scope", ["site", "community"])
def test_an_uploader_who_deleted_their_account_is_banned_not_retried_for_ever(
    fake_lemmy, photos, tiny, pipeline_for, scope
):
    # review R3 of 321506b: the uploader's moderated communities are read with GET /user
    # (0.19) or GET /person (1.0), which answer a deleted account couldnt_find_person /
    # not found; the ban then failed "tried again next cycle" at every cycle, and an
    # abuser who had a throwaway post their upload and deleted their own account was
    # never banned. A deleted account moderates nothing: the ban is sent.
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    carol = lemmy.add_person("carol")
    upload = lemmy.add_upload(carol, photos[BAD])
    post = lemmy.add_post(cast.pics, cast.bob, name="look", url=upload.url)
    lemmy.person(carol.id).deleted = True  # she deleted her account since
    pipeline = pipeline_for(lemmy, known_bad=[sha(photos[BAD])], rules=rules(scope))
    pipeline.poll_once(deep=True)
    ban = ban_of(pipeline, post)
    assert carol.id in banned_ids(lemmy), ban
    assert "tried again next cycle" not in ban["detail"], ban
