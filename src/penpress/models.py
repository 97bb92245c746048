"""Every model, imported in one place so that metadata (and Alembic) sees the whole schema."""

from penpress.accounts.models import Follow, Invite, Permission, Role, User, UserSession
from penpress.blog.models import Comment, Favorite, Page, Post, Tag, post_tags
from penpress.counters import NamedCounter
from penpress.emails import EmailDelivery
from penpress.media.models import Media
from penpress.newsletter.models import Delivery, NewsletterSend, Subscriber
from penpress.outbox import OutboxJob
from penpress.settings.models import SiteSetting

__all__ = [
    "Comment",
    "Delivery",
    "EmailDelivery",
    "Favorite",
    "Follow",
    "Invite",
    "NamedCounter",
    "Media",
    "NewsletterSend",
    "OutboxJob",
    "Page",
    "Permission",
    "Post",
    "Role",
    "SiteSetting",
    "Subscriber",
    "Tag",
    "User",
    "UserSession",
    "post_tags",
]
