"""Profiles: GET /profiles/:username, POST/DELETE /profiles/:username/follow."""

from __future__ import annotations

from tests.api.realworld.shapes import check_errors, check_profile


def test_profile_for_anyone(api, celeb):
    api.put(
        "/user", celeb["token"], json={"user": {"bio": "Famous", "image": "https://x.io/c.png"}}
    )
    response = api.get("/profiles/celeb")
    assert response.status_code == 200
    profile = response.get_json()["profile"]
    check_profile(profile)
    assert profile == {
        "username": "celeb",
        "bio": "Famous",
        "image": "https://x.io/c.png",
        "following": False,
    }


def test_unknown_profile_is_404(api, jake):
    check_errors(api.get("/profiles/nobody"), 404)
    check_errors(api.get("/profiles/nobody", jake["token"]), 404)


def test_follow_and_unfollow(api, jake, celeb):
    followed = api.post("/profiles/celeb/follow", jake["token"])
    assert followed.status_code == 200
    profile = followed.get_json()["profile"]
    check_profile(profile)
    assert (profile["username"], profile["following"]) == ("celeb", True)

    # following reflects the caller
    assert api.get("/profiles/celeb", jake["token"]).get_json()["profile"]["following"] is True
    assert api.get("/profiles/celeb").get_json()["profile"]["following"] is False
    assert api.get("/profiles/celeb", celeb["token"]).get_json()["profile"]["following"] is False
    assert api.get("/profiles/jake", celeb["token"]).get_json()["profile"]["following"] is False

    # idempotent
    assert api.post("/profiles/celeb/follow", jake["token"]).get_json()["profile"]["following"]

    unfollowed = api.delete("/profiles/celeb/follow", jake["token"])
    assert unfollowed.status_code == 200
    check_profile(unfollowed.get_json()["profile"])
    assert unfollowed.get_json()["profile"]["following"] is False
    assert api.get("/profiles/celeb", jake["token"]).get_json()["profile"]["following"] is False
    again = api.delete("/profiles/celeb/follow", jake["token"])
    assert again.status_code == 200
    assert again.get_json()["profile"]["following"] is False


def test_following_yourself_is_422(api, jake):
    check_errors(api.post("/profiles/jake/follow", jake["token"]), 422, "username")


def test_follow_needs_a_token(api, celeb):
    check_errors(api.post("/profiles/celeb/follow"), 401)
    check_errors(api.delete("/profiles/celeb/follow"), 401)
    check_errors(api.post("/profiles/celeb/follow", "garbage"), 401)


def test_follow_unknown_user_is_404(api, jake):
    check_errors(api.post("/profiles/nobody/follow", jake["token"]), 404)
    check_errors(api.delete("/profiles/nobody/follow", jake["token"]), 404)


def test_a_bad_token_on_an_optional_auth_endpoint_is_401(api, celeb):
    """A stale token is reported, not silently treated as anonymous."""
    check_errors(api.get("/profiles/celeb", "not-a-token"), 401)
