"""A post as an email: its HTML with every link and image absolute, and the message's headers
(the unsubscribe links of RFC 2369 and RFC 8058, a stable Message-ID)."""

from __future__ import annotations

from email.utils import formataddr, parseaddr
from urllib.parse import quote, urljoin, urlsplit

from flask import current_app
from markupsafe import Markup

from penpress.blog.links import Attrs, rewrite_start_tags
from penpress.emails import message_id
from penpress.http import external_url
from penpress.newsletter.tokens import make_unsubscribe_token
from penpress.settings.services import site_title

# Attributes of responsive images that point at files relative to the site, or mean nothing
# in a mail client: the email keeps the plain ``src``.
_DROPPED = frozenset({"srcset", "sizes", "loading", "decoding"})
_URL_ATTRIBUTES = frozenset({"href", "src"})


def absolute_html(html: str, base_url: str) -> Markup:
    """``html`` (a post's sanitized body) with each ``href`` and ``src`` resolved against
    ``base_url`` (the post's own address, as a browser on its page would resolve them)."""

    def absolute(_tag: str, attrs: Attrs) -> Attrs | None:
        kept: Attrs = []
        changed = False
        for name, value in attrs:
            if name in _DROPPED:
                changed = True
            elif name in _URL_ATTRIBUTES and value is not None:
                resolved = urljoin(base_url, value)
                changed = changed or resolved != value
                kept.append((name, resolved))
            else:
                kept.append((name, value))
        return kept if changed else None

    return Markup(rewrite_start_tags(html, absolute))  # noqa: S704  (sanitized when saved)


def sender() -> str:
    """The ``From`` of newsletter emails: the site's name at ``MAIL_DEFAULT_SENDER``'s address."""
    _name, address = parseaddr(str(current_app.config["MAIL_DEFAULT_SENDER"]))
    return formataddr((site_title(), address))


def unsubscribe_url(subscriber_id: int, secret: str) -> str:
    """The subscriber's unsubscribe page, which also takes RFC 8058's one-click POST."""
    token = make_unsubscribe_token(subscriber_id, secret)
    return external_url("newsletter.unsubscribe", token=token)


def list_headers(send_id: int, subscriber_id: int, unsubscribe: str) -> dict[str, str]:
    """The headers of one newsletter email.

    ``List-Unsubscribe`` names the https page (RFC 8058 one-click: a POST of
    ``List-Unsubscribe=One-Click`` without cookies unsubscribes) and a ``mailto:`` (to
    ``NEWSLETTER_UNSUBSCRIBE_MAILTO``, else the sender's address; read by a person, the
    subject says whom). The Message-ID is the same on every attempt.
    """
    config = current_app.config
    mailbox = (
        config.get("NEWSLETTER_UNSUBSCRIBE_MAILTO")
        or parseaddr(str(config["MAIL_DEFAULT_SENDER"]))[1]
    )
    host = urlsplit(str(config["SITE_URL"])).hostname or "penpress"
    subject = quote(f"unsubscribe {unsubscribe.rsplit('/', 1)[-1]}")
    return {
        "Message-ID": message_id(f"newsletter.{send_id}.{subscriber_id}"),
        "List-Unsubscribe": f"<{unsubscribe}>, <mailto:{mailbox}?subject={subject}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": formataddr((site_title(), f"newsletter.{host}")),
    }
