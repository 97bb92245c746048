"""Flask extensions, created unbound here and bound to an app in ``create_app``.

Two are not among them, because they keep their settings on themselves, so one shared object
would give every app the settings of the last one built: Talisman (HSTS from a production app
leaking into the next; ``create_app`` makes one per app) and Flask-Limiter (see
:mod:`penpress.ratelimits`).
"""

from __future__ import annotations

from flask_caching import Cache
from flask_compress import Compress
from flask_cors import CORS
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from penpress.database import db

__all__ = ["cache", "compress", "cors", "csrf", "db", "login_manager", "mail", "migrate"]

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
cache = Cache()
compress = Compress()
cors = CORS()
mail = Mail()
