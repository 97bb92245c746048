"""The newsletter's subscribe endpoint: anyone may ask for new posts by email.

The answer is always ``202`` with the same body for any well-formed address, subscribed or
not, so it tells nothing about who reads the newsletter; the confirmation link emailed to the
address is the protection (double opt-in). Rate limited per client address, in one budget with
the site's form, and per address (extra requests send nothing).
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from penpress.api.v1.core import BODY_ERRORS, ApiBlueprint, documented
from penpress.api.v1.schemas import InputSchema, Text
from penpress.newsletter import services
from penpress.ratelimits import rate_limit

bp = ApiBlueprint(
    "api_v1_subscribers",
    __name__,
    description="The newsletter: ask for new posts by email (double opt-in, no account).",
)

ACCEPTED = {
    "status": "pending",
    "message": (
        "If this address is not subscribed yet, a link to confirm the subscription has been "
        "emailed to it. Nothing else is sent until it is followed."
    ),
}


class SubscribeSchema(InputSchema):
    email = Text(required=True, metadata={"description": "The address to send new posts to."})


class SubscriptionRequestSchema(InputSchema):
    status = fields.String(required=True, metadata={"example": "pending"})
    message = fields.String(required=True)


@bp.route("", methods=["POST"])
@rate_limit("RATELIMIT_SUBSCRIBE", scope=services.SUBSCRIBE_SCOPE)
@documented(auth="none", errors=BODY_ERRORS)
@bp.arguments(SubscribeSchema)
@bp.response(202, SubscriptionRequestSchema)
def subscribe(data: dict[str, Any]) -> tuple[dict[str, str], int]:
    """Subscribe an address: a confirmation link is emailed to it unless it is subscribed
    already. Always the same answer; 422 only for a malformed address."""
    services.request_subscription(data["email"], source="api")
    return ACCEPTED, 202
