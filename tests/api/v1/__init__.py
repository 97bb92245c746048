"""Tests of the v1 JSON API."""

# Every operation of /api/v1 as (method, OpenAPI path). test_openapi checks that the document
# lists exactly these, so the fuzzing in test_schemathesis cannot miss a new endpoint.
OPERATIONS = [
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/tokens/refresh"),
    ("DELETE", "/api/v1/auth/tokens"),
    ("GET", "/api/v1/posts"),
    ("POST", "/api/v1/posts"),
    ("GET", "/api/v1/posts/{slug}"),
    ("PATCH", "/api/v1/posts/{slug}"),
    ("DELETE", "/api/v1/posts/{slug}"),
    ("POST", "/api/v1/posts/{slug}/submit"),
    ("GET", "/api/v1/review"),
    ("POST", "/api/v1/review/{slug}/publish"),
    ("POST", "/api/v1/review/{slug}/return"),
    ("POST", "/api/v1/review/{slug}/reject"),
    ("GET", "/api/v1/posts/{slug}/comments"),
    ("POST", "/api/v1/posts/{slug}/comments"),
    ("GET", "/api/v1/comments/{comment_id}"),
    ("DELETE", "/api/v1/comments/{comment_id}"),
    ("POST", "/api/v1/comments/{comment_id}/approve"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{username}"),
    ("PATCH", "/api/v1/users/{username}"),
    ("DELETE", "/api/v1/users/{username}"),
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/me/favorites"),
    ("GET", "/api/v1/tags"),
    ("GET", "/api/v1/site"),
    ("POST", "/api/v1/media"),
    ("GET", "/api/v1/media"),
    ("POST", "/api/v1/subscribers"),
]

# Operations that need a bearer token, and operations that read a JSON body; test_openapi
# checks these against the document too.
NEEDS_TOKEN = [
    ("DELETE", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/posts"),
    ("PATCH", "/api/v1/posts/{slug}"),
    ("DELETE", "/api/v1/posts/{slug}"),
    ("POST", "/api/v1/posts/{slug}/submit"),
    ("GET", "/api/v1/review"),
    ("POST", "/api/v1/review/{slug}/publish"),
    ("POST", "/api/v1/review/{slug}/return"),
    ("POST", "/api/v1/review/{slug}/reject"),
    ("POST", "/api/v1/posts/{slug}/comments"),
    ("DELETE", "/api/v1/comments/{comment_id}"),
    ("POST", "/api/v1/comments/{comment_id}/approve"),
    ("PATCH", "/api/v1/users/{username}"),
    ("DELETE", "/api/v1/users/{username}"),
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/me/favorites"),
    ("POST", "/api/v1/media"),
    ("GET", "/api/v1/media"),
]
WITH_BODY = [
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/tokens/refresh"),
    ("POST", "/api/v1/posts"),
    ("PATCH", "/api/v1/posts/{slug}"),
    ("POST", "/api/v1/review/{slug}/return"),
    ("POST", "/api/v1/review/{slug}/reject"),
    ("POST", "/api/v1/posts/{slug}/comments"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{username}"),
    ("PATCH", "/api/v1/me"),
    ("PUT", "/api/v1/me/password"),
    ("POST", "/api/v1/subscribers"),
]

# Operations whose input has nothing a negative fuzzing run could make invalid: no body, an
# optional token, and only free-form strings (a slug, a username, If-None-Match). The negative
# run leaves them out; test_openapi checks this list against the document, so an operation whose
# input loses its last constraint (a typed id, a required token, a body) is noticed. (The
# comments of a post gained a bounded ``limit`` with keyset paging, so they are fuzzed too.)
UNCONSTRAINED = [
    ("GET", "/api/v1/posts/{slug}"),
    ("GET", "/api/v1/users/{username}"),
    ("GET", "/api/v1/tags"),
    ("GET", "/api/v1/site"),  # open to all, no parameters
]

# Operations whose body is multipart (an upload) rather than JSON.
WITH_MULTIPART_BODY = [("POST", "/api/v1/media")]
