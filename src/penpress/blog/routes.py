"""Routes of the blog blueprint: posts, tags, authors, comments, favorites, follows and feed.

Views stay thin: they read the request, call the services (which hold every rule and query)
and render. Domain errors propagate to the app's error handlers, except ``Invalid`` from a
form submission, which is shown next to the form's fields.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from penpress.accounts import services as accounts
from penpress.accounts.models import Permission, User
from penpress.accounts.routes import safe_next
from penpress.blog import services
from penpress.blog.forms import CommentForm, EditPostForm, PostForm, apply_errors
from penpress.blog.models import Post
from penpress.errors import Forbidden, Invalid, Unauthorized
from penpress.extensions import limiter, login_manager
from penpress.main import feeds
from penpress.templating import SITE_NAME

bp = Blueprint("blog", __name__)

SEARCH_MAX_LENGTH = 200
# New posts and comments per writer; ``RATELIMIT_WRITE`` in the config overrides it.
DEFAULT_WRITE_LIMIT = "20 per minute; 200 per day"


# --- helpers ------------------------------------------------------------------------------


def _viewer() -> User | None:
    """The logged-in user, or None for anonymous visitors."""
    user = current_user._get_current_object()  # the real object, not Flask-Login's proxy
    return user if isinstance(user, User) and user.is_authenticated else None


def _actor() -> User:
    """The logged-in user of a ``login_required`` view."""
    user = _viewer()
    if user is None:  # pragma: no cover - login_required redirects first
        raise Unauthorized()
    return user


def _writer_key() -> str:
    """Count writes per account (many people may share an address), else per address."""
    user = _viewer()
    return f"user:{user.id}" if user is not None else get_remote_address()


# Against comment and post spam; reading the forms is not limited.
write_rate_limit = limiter.limit(
    lambda: str(current_app.config.get("RATELIMIT_WRITE", DEFAULT_WRITE_LIMIT)),
    key_func=_writer_key,
    methods=["POST"],
)


View = Callable[..., ResponseReturnValue]


def login_first(back_to: Callable[..., str]) -> Callable[[View], View]:
    """``login_required`` for buttons and forms: after logging in, return to their page.

    Flask-Login would send the visitor back to the form's own URL, which only takes POSTs.
    ``back_to`` gets the view's URL arguments and returns the page to return to.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            if _viewer() is None:
                flash(login_manager.login_message, login_manager.login_message_category)
                return redirect(url_for(login_manager.login_view, next=back_to(**kwargs)))
            return view(**kwargs)

        return wrapped

    return decorate


def _post_page(slug: str) -> str:
    return url_for("blog.post", slug=slug)


def _author_page(username: str) -> str:
    return url_for("blog.author", username=username)


def _page() -> int:
    # The services keep any page number within what the database accepts.
    return request.args.get("page", 1, type=int) or 1


def _per_page() -> int:
    return int(current_app.config["POSTS_PER_PAGE"])


def _next_or(default: str) -> str:
    """The ``next`` form or query value when it is a path on this site, else ``default``."""
    return safe_next(request.form.get("next") or request.args.get("next")) or default


def _post_url(post: Post) -> str:
    return _post_page(post.slug)


# --- lists --------------------------------------------------------------------------------


@bp.get("/")
def index() -> ResponseReturnValue:
    """Published posts, newest first; ``?q=`` searches titles, summaries and bodies."""
    q = (request.args.get("q") or "").strip()[:SEARCH_MAX_LENGTH]
    page = services.list_posts(
        services.PostFilter(q=q or None), _page(), _per_page(), viewer=_viewer()
    )
    return render_template("blog/index.html", pagination=page, posts=page.items, q=q)


@bp.get("/tag/<slug>")
def tag(slug: str) -> ResponseReturnValue:
    """Published posts with one tag."""
    found = services.get_tag(slug)
    page = services.list_posts(
        services.PostFilter(tag=found.slug), _page(), _per_page(), viewer=_viewer()
    )
    return render_template("blog/tag.html", tag=found, pagination=page, posts=page.items)


@bp.get("/tag/<slug>/feed.xml")
def tag_feed(slug: str) -> ResponseReturnValue:
    """An Atom feed of the newest published posts with one tag."""
    found = services.get_tag(slug)
    posts, _total = services.list_posts_window(
        services.PostFilter(tag=found.slug), limit=feeds.FEED_SIZE, offset=0
    )
    return feeds.atom_feed(
        f"{SITE_NAME}: {found.name}",
        feeds.url("blog.tag_feed", slug=found.slug),
        feeds.url("blog.tag", slug=found.slug),
        posts,
    )


@bp.get("/author/<username>")
def author(username: str) -> ResponseReturnValue:
    """An author's profile and published posts."""
    viewer = _viewer()
    user = accounts.get_user(username)
    page = services.list_posts(
        services.PostFilter(author=user.username), _page(), _per_page(), viewer=viewer
    )
    return render_template(
        "blog/author.html",
        author=user,
        pagination=page,
        posts=page.items,
        followers=accounts.follower_count(user),
        following=accounts.following_count(user),
        is_following=bool(accounts.followed_ids(viewer, [user.id])),
        is_self=viewer is not None and viewer.id == user.id,
    )


@bp.get("/my-posts")
@login_required
def my_posts() -> ResponseReturnValue:
    """The logged-in user's posts, drafts included."""
    me = _actor()
    page = services.list_posts(
        services.PostFilter(author=me.username, include_drafts=True),
        _page(),
        _per_page(),
        viewer=me,
    )
    return render_template("blog/my_posts.html", pagination=page, posts=page.items)


@bp.get("/feed")
@login_required
def feed() -> ResponseReturnValue:
    """Published posts by the authors the logged-in user follows."""
    page = services.feed(_actor(), _page(), _per_page())
    return render_template("blog/feed.html", pagination=page, posts=page.items)


# --- one post -----------------------------------------------------------------------------


def _render_post(post: Post, form: CommentForm, status: int = 200) -> ResponseReturnValue:
    viewer = _viewer()
    return (
        render_template(
            "blog/post.html",
            post=post,
            comments=services.list_comments(post, viewer),
            form=form,
            can_edit=services.can_edit(post, viewer),
            can_delete_comment=services.can_delete_comment,
            favorited=bool(services.favorited_ids(viewer, [post.id])),
            following=bool(accounts.followed_ids(viewer, [post.author_id])),
        ),
        status,
    )


@bp.get("/post/<slug>")
def post(slug: str) -> ResponseReturnValue:
    """A post with its comments; drafts only for their author and admins (404 for others)."""
    found = services.get_post(slug, _viewer())
    if request.method == "GET":  # HEAD requests (link checkers) are not reads
        services.record_view(found)
    return _render_post(found, CommentForm())


@bp.route("/create", methods=["GET", "POST"])
@login_required
@write_rate_limit
def create() -> ResponseReturnValue:
    """Write a new post, as a draft or published."""
    me = accounts.require(_actor(), Permission.WRITE)
    form = PostForm()
    if form.validate_on_submit():
        try:
            created = services.create_post(
                me,
                title=form.title.data or "",
                summary=form.summary.data or "",
                body=form.body.data or "",
                tags=services.parse_tag_names(form.tags.data or ""),
                published=bool(form.published.data),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Post published." if created.published else "Draft saved.", "success")
            return redirect(_post_url(created), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("blog/post_form.html", form=form, post=None), status


@bp.route("/edit/<int:id>", methods=["GET", "POST"])
@login_required
def edit(id: int) -> ResponseReturnValue:
    """Change a post; its author or an admin only (403 for others)."""
    me = _actor()
    found = services.get_post_by_id(id, me)
    if not services.can_edit(found, me):
        raise Forbidden("Only the author or an admin can change this post.")
    form = EditPostForm(
        data={
            "title": found.title,
            "summary": found.summary,
            "body": found.body,
            "tags": ", ".join(t.name for t in found.tags),
            "published": found.published,
        }
    )
    if form.validate_on_submit():
        was_published = found.published
        try:
            services.update_post(
                found,
                me,
                title=form.title.data or "",
                summary=form.summary.data or "",
                body=form.body.data or "",
                tags=services.parse_tag_names(form.tags.data or ""),
                published=bool(form.published.data),
                regenerate_slug=bool(form.regenerate_slug.data),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            if found.published and not was_published:
                flash("Post published.", "success")
            else:
                flash("Post updated." if found.published else "Draft saved.", "success")
            return redirect(_post_url(found), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("blog/post_form.html", form=form, post=found), status


@bp.post("/delete/<int:id>")
@login_required
def delete(id: int) -> ResponseReturnValue:
    """Delete a post; its author or an admin only (403 for others)."""
    me = _actor()
    services.delete_post(services.get_post_by_id(id, me), me)
    flash("Post deleted.", "success")
    return redirect(url_for("blog.my_posts"), code=303)


# --- comments -----------------------------------------------------------------------------


@bp.post("/post/<slug>/comment")
@login_first(_post_page)
@write_rate_limit
def comment(slug: str) -> ResponseReturnValue:
    """Comment on a post; held for a moderator when the site asks for approval."""
    me = _actor()
    found = services.get_post(slug, me)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            added = services.add_comment(found, me, form.body.data or "")
        except Invalid as error:
            apply_errors(form, error)
        else:
            if added.approved:
                flash("Comment posted.", "success")
            else:
                flash("Thanks! Your comment is awaiting approval by a moderator.", "info")
            return redirect(f"{_post_url(found)}#comment-{added.id}", code=303)
    return _render_post(found, form, status=422)


@bp.post("/comments/<int:id>/delete")
@login_required
def delete_comment(id: int) -> ResponseReturnValue:
    """Delete a comment; its writer or a moderator only (403 for others)."""
    found = services.get_comment(id)
    target = _post_url(found.post)
    services.delete_comment(found, _actor())
    flash("Comment deleted.", "success")
    return redirect(_next_or(f"{target}#comments"), code=303)


# --- favorites and follows ----------------------------------------------------------------


@bp.post("/post/<slug>/favorite")
@login_first(_post_page)
def favorite(slug: str) -> ResponseReturnValue:
    """Mark a post as a favorite (doing it twice changes nothing)."""
    me = _actor()
    found = services.get_post(slug, me)
    services.favorite(found, me)
    return redirect(_next_or(_post_url(found)), code=303)


@bp.post("/post/<slug>/unfavorite")
@login_first(_post_page)
def unfavorite(slug: str) -> ResponseReturnValue:
    """Remove a post from the favorites."""
    me = _actor()
    found = services.get_post(slug, me)
    services.unfavorite(found, me)
    return redirect(_next_or(_post_url(found)), code=303)


@bp.post("/author/<username>/follow")
@login_first(_author_page)
def follow(username: str) -> ResponseReturnValue:
    """Follow an author: their new posts appear in the feed."""
    user = accounts.get_user(username)
    accounts.follow(_actor(), user)
    flash(f"You are following {user.username}.", "success")
    return redirect(_next_or(_author_page(user.username)), code=303)


@bp.post("/author/<username>/unfollow")
@login_first(_author_page)
def unfollow(username: str) -> ResponseReturnValue:
    """Stop following an author."""
    user = accounts.get_user(username)
    accounts.unfollow(_actor(), user)
    flash(f"You no longer follow {user.username}.", "info")
    return redirect(_next_or(_author_page(user.username)), code=303)
