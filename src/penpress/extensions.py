"""Flask extensions, created unbound here and bound to an app in ``create_app``.

Talisman is not among them: it keeps its settings on itself, so one shared object would give
every app the settings of the last one built (HSTS from a production app leaking into the
next). ``create_app`` makes one per app; nothing uses its per-view decorator.
"""

from __future__ import annotations

from flask_caching import Cache
from flask_compress import Compress
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from penpress.database import Base

# Objects stay readable after the one commit at the end of a request or task.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
cache = Cache()
limiter = Limiter(key_func=get_remote_address)
compress = Compress()
cors = CORS()
mail = Mail()
