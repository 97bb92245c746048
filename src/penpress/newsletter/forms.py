"""Forms of the newsletter's pages. The services hold the rules (what an address is, what an
import accepts); these carry the fields and show the services' errors next to them."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField


class SubscribeForm(FlaskForm):
    """The anonymous subscribe form, on every page: without a CSRF token on purpose.

    The page it sits on is the same for every anonymous reader, so a page cache can keep it; and
    the request can only ever email a confirmation link to the address given (the same answer
    whatever the address, rate limited per client and per address). A forged request from
    another site achieves exactly what its author could do with the form themselves, so a
    session token would protect nothing. See docs/newsletter.md.
    """

    class Meta:
        csrf = False

    email = EmailField(
        "Your email address",
        render_kw={"required": True, "maxlength": 254, "autocomplete": "email"},
    )


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file.")],
        description=(
            "UTF-8, one address per row: a header row naming an “email” column (and, if you "
            "like, a “status” column, where “unsubscribed” keeps an opt-out), or the addresses "
            "in the first column."
        ),
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )
    consent = BooleanField(
        "These people agreed to get this newsletter: mark them confirmed",
        description=(
            "Only confirmed addresses are emailed, and they get the next post without being "
            "asked. Tick this only if every address on the list asked for your posts (say, "
            "subscribers moving with you from another platform): emailing people who never "
            "agreed is spam, and in many countries unlawful. Unticked, the addresses are added "
            "unconfirmed and get nothing, not even a confirmation email, until they subscribe "
            "on the site themselves."
        ),
    )
