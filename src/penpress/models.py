"""Every model, imported in one place so that metadata (and Alembic) sees the whole schema."""

from penpress.accounts.models import Follow, Invite, Permission, Role, User, UserSession
from penpress.audit.models import AuditEntry
from penpress.blog.models import Comment, Favorite, Page, Post, PostViewDay, Tag, post_tags
from penpress.counters import NamedCounter
from penpress.emails import EmailDelivery
from penpress.media.models import Media
from penpress.newsletter.models import Delivery, NewsletterSend, Subscriber
from penpress.outbox import OutboxJob
from penpress.settings.models import SiteSetting
from penpress.transfer.models import LegacyPath

__all__ = [
    "AuditEntry",
    "Comment",
    "Delivery",
    "EmailDelivery",
    "Favorite",
    "Follow",
    "Invite",
    "LegacyPath",
    "NamedCounter",
    "Media",
    "NewsletterSend",
    "OutboxJob",
    "Page",
    "Permission",
    "Post",
    "PostViewDay",
    "Role",
    "SiteSetting",
    "Subscriber",
    "Tag",
    "User",
    "UserSession",
    "post_tags",
]
