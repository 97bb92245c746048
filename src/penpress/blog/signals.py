"""Signals the blog sends, so that later features can act on its events without the blog
importing them (imports run one way: see tests/test_architecture.py).

Receivers are connected by the feature that owns them when the app is built, and run inside
the request, before its one commit: what they change is committed with the post, and an error
they raise rolls the whole request back.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: The site's editor saved a post (created or changed), sent by ``blog.routes`` with ``post``
#: and ``actor`` as keyword arguments (and no sender); the request's form is the editor's.
post_saved = _signals.signal("post-saved")
