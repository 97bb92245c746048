"""Routes of the blog blueprint: posts, tags, authors, comments, favorites, follows and feed.

Views stay thin: they read the request, call the services (which hold every rule and query)
and render. Domain errors propagate to the app's error handlers, except ``Invalid`` from a
form submission, which is shown next to the form's fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required

from penpress import page_cache, timezones
from penpress.accounts import services as accounts
from penpress.accounts.auth import acting_user
from penpress.accounts.models import User
from penpress.blog import editor_routes, feeds, services, signals
from penpress.blog.filters import local_datetime
from penpress.blog.forms import CommentForm, EditPostForm, PostForm
from penpress.blog.models import Post, PostStatus
from penpress.blog.services import editor
from penpress.errors import Invalid, Unauthorized
from penpress.extensions import login_manager
from penpress.forms import apply_errors
from penpress.http import external_url, larger_body, safe_next
from penpress.media import services as media
from penpress.media.routes import FORM_ROOM
from penpress.page_cache import cached_page
from penpress.permissions import Permission, holds
from penpress.settings.services import language, posts_per_page, site_description, site_title

bp = Blueprint("blog", __name__)


View = Callable[..., ResponseReturnValue]


def login_first(back_to: Callable[..., str]) -> Callable[[View], View]:
    """``login_required`` for buttons and forms: after logging in, return to their page.

    Flask-Login would send the visitor back to the form's own URL, which only takes POSTs.
    ``back_to`` gets the view's URL arguments and returns the page to return to.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            if acting_user() is None:
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


def _cursor() -> str | None:
    """The ``cursor`` of an "Older posts"/"Newer posts" link (a bad one is a 422)."""
    return request.args.get("cursor") or None


def _count_cached_view(meta: dict[str, Any]) -> None:
    if "post_id" in meta:
        services.count_cached_view(int(meta["post_id"]))


def _per_page() -> int:
    return posts_per_page()


def _next_or(default: str) -> str:
    """The ``next`` form or query value when it is a path on this site, else ``default``."""
    return safe_next(request.form.get("next") or request.args.get("next")) or default


def _post_url(post: Post) -> str:
    return _post_page(post.slug)


# --- lists --------------------------------------------------------------------------------


@bp.get("/")
@cached_page()
def index() -> ResponseReturnValue:
    """Published posts, newest first. ``?q=`` (the old search address) goes to /search."""
    if "q" in request.args:
        return redirect(url_for("main.search", q=request.args["q"]), code=301)
    page = services.list_posts(
        acting_user(), services.PostFilter(), _page(), _per_page(), cursor=_cursor()
    )
    return render_template("blog/index.html", pagination=page, posts=page.items)


@bp.get("/tag/<slug>")
@cached_page()
def tag(slug: str) -> ResponseReturnValue:
    """Published posts with one tag."""
    found = services.get_tag(slug)
    page = services.list_posts(
        acting_user(), services.PostFilter(tag=found.slug), _page(), _per_page(), cursor=_cursor()
    )
    return render_template("blog/tag.html", tag=found, pagination=page, posts=page.items)


@bp.get("/tag/<slug>/feed.xml")
@cached_page()
def tag_feed(slug: str) -> ResponseReturnValue:
    """An Atom feed of the newest published posts with one tag."""
    found = services.get_tag(slug)
    posts = services.list_posts(
        None, services.PostFilter(tag=found.slug), per_page=feeds.FEED_SIZE
    ).items
    return feeds.atom_feed(
        f"{site_title()}: {found.name}",
        external_url("blog.tag_feed", slug=found.slug),
        external_url("blog.tag", slug=found.slug),
        posts,
        subtitle=site_description(),
        language=language(),
    )


@bp.get("/author/<username>")
@cached_page()
def author(username: str) -> ResponseReturnValue:
    """An author's profile and published posts."""
    viewer = acting_user()
    user = accounts.get_user(viewer, username)
    page = services.list_posts(
        viewer, services.PostFilter(author=user), _page(), _per_page(), cursor=_cursor()
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


@bp.get("/author/<username>/feed.xml")
@cached_page()
def author_feed(username: str) -> ResponseReturnValue:
    """An Atom feed of one author's newest published posts."""
    user = accounts.get_user(None, username)
    posts = services.list_posts(
        None, services.PostFilter(author=user), per_page=feeds.FEED_SIZE
    ).items
    return feeds.atom_feed(
        f"{site_title()}: {user.username}",
        external_url("blog.author_feed", username=user.username),
        external_url("blog.author", username=user.username),
        posts,
    )


@bp.get("/my-posts")
@login_required
def my_posts() -> ResponseReturnValue:
    """The logged-in user's posts, drafts included."""
    me = acting_user()
    assert me is not None  # login_required
    page = services.list_posts(
        me,
        services.PostFilter(author=me, include_drafts=True),
        _page(),
        _per_page(),
        cursor=_cursor(),
    )
    return render_template("blog/my_posts.html", pagination=page, posts=page.items)


@bp.get("/feed")
@login_required
def feed() -> ResponseReturnValue:
    """Published posts by the authors the logged-in user follows.

    The list is the reader's own: kept for them alone (``page_cache.readers_own_fragment``)
    until a post, a count or whom they follow changes; the page around it is rendered anew.
    """
    reader = acting_user()
    if reader is None:  # login_required let no one else in
        raise Unauthorized()

    def render_list() -> str:
        page = services.feed(reader, _page(), _per_page(), cursor=_cursor())
        return render_template("blog/_feed_list.html", pagination=page, posts=page.items)

    name = f"feed?{request.query_string.decode('latin-1')}"
    posts = page_cache.readers_own_fragment(reader.id, name, render_list, [page_cache.COUNTS])
    return render_template("blog/feed.html", posts=posts)


@bp.app_template_global("favorites_count")
def favorites_count() -> int:
    """How many posts the logged-in reader favorited, for their profile page (which belongs
    to accounts, a feature that may not import this one)."""
    return services.count_favorites(acting_user())


@bp.get("/favorites")
@login_required
def favorites() -> ResponseReturnValue:
    """The posts the logged-in reader favorited (their own list: never cached, never shared)."""
    page = services.list_favorites(acting_user(), _page(), _per_page(), cursor=_cursor())
    return render_template("blog/favorites.html", pagination=page, posts=page.items)


# --- one post -----------------------------------------------------------------------------


# Where a writer who may not publish can still send their post on.
SUBMITTABLE = (PostStatus.DRAFT, PostStatus.RETURNED)


def _offers_submission(viewer: User | None, post: Post | None) -> bool:
    """Whether the pages offer ``viewer`` "Submit for review" (rather than "Published") for
    ``post`` (``None``: a new post); the service decides whether it is allowed."""
    if viewer is None or holds(viewer, Permission.PUBLISH):
        return False
    return post is None or (viewer.id == post.author_id and post.state in SUBMITTABLE)


def _render_post(post: Post, form: CommentForm | None, status: int = 200) -> ResponseReturnValue:
    viewer = acting_user()
    comments = services.list_comments(viewer, post, after=request.args.get("comments") or None)
    if form is None and viewer is not None:
        # Only for readers who may comment: a form carries a CSRF token, which would keep an
        # anonymous reader's page out of the page cache (and give them a session cookie).
        form = CommentForm()
    return (
        render_template(
            "blog/post.html",
            post=post,
            comments=comments.items,
            later_comments=comments.later,
            earlier_comments=comments.earlier,
            form=form,
            can_edit=services.may_edit(viewer, post),
            can_submit=_offers_submission(viewer, post),
            must_confirm=services.must_confirm_to_comment(viewer),
            comments_open=services.comments_open(),
            can_moderate=holds(viewer, Permission.MODERATE),
            can_delete_comment=services.can_delete_comment,
            favorited=bool(services.favorited_ids(viewer, [post.id])),
            following=bool(accounts.followed_ids(viewer, [post.author_id])),
        ),
        status,
    )


@bp.get("/post/<slug>")
@cached_page(generations=lambda slug: [page_cache.post_generation(slug)], on_hit=_count_cached_view)
def post(slug: str) -> ResponseReturnValue:
    """A post with its comments; drafts only for their author and admins (404 for others)."""
    viewer = acting_user()
    found = services.get_post(viewer, slug)
    if request.method == "GET":  # HEAD requests (link checkers) are not reads
        services.record_view(viewer, found)
    page_cache.note(post_id=found.id)
    return _render_post(found, None)


def _saved_message(post: Post, was_published: bool = False) -> str:
    """What a save did: published (or updated), scheduled, submitted, or a draft."""
    if services.post_status(post) == "scheduled":
        return f"Post scheduled for {local_datetime(post.published_at)}."
    if post.published:
        return "Post updated." if was_published else "Post published."
    return {
        PostStatus.SUBMITTED: "Submitted for review: an editor will publish it or send it back.",
    }.get(post.state, "Draft saved.")


def _render_editor(
    form: PostForm, post: Post | None, submission: editor_routes.Submission
) -> ResponseReturnValue:
    me = acting_user()
    library = list(media.list_uploads(me))
    if post is not None and post.featured_image is not None and post.featured_image not in library:
        library.insert(0, post.featured_image)
    return (
        render_template(
            "blog/post_form.html",
            form=form,
            post=post,
            preview=submission.preview,
            library=library,
            max_upload_bytes=media.max_upload_bytes(),
            offers_submission=_offers_submission(me, post),
            must_confirm=accounts.must_confirm_email(me),
        ),
        submission.status,
    )


# --- writing ------------------------------------------------------------------------------


def _publishing_help(form: PostForm, zone: str) -> None:
    """Tell the author which time zone the publication date is in."""
    form.publish_at.description = (
        f"In your time zone, {zone} (change it on your profile). Empty: now, when published. "
        "A time to come schedules the post (“Schedule”); a past one backdates it."
    )


def _publish_at(form: PostForm, zone: str) -> datetime | None:
    """The form's publication date as an aware UTC datetime, or None when left empty."""
    if form.publish_at.data is None:
        return None
    return timezones.local_to_utc(form.publish_at.data, zone)


def _publication(form: PostForm, zone: str, writer: User | None) -> dict[str, Any]:
    """The form's publication date and Schedule button as the services take them, for
    writers who may publish (an empty date: now, or the post's date cleared). Others do not
    get the field: their posts are dated when an editor publishes them."""
    if not holds(writer, Permission.PUBLISH):
        return {}
    return {"publish_at": _publish_at(form, zone), "schedule": bool(form.schedule.data)}


@bp.route("/create", methods=["GET", "POST"])
@larger_body("MEDIA_MAX_BYTES", extra=FORM_ROOM)  # the featured image may come with the form
@login_required
def create() -> ResponseReturnValue:
    """Write a new post: a draft, published, scheduled or backdated (writers who may
    publish), or submitted for review (contributors); the Preview button shows it first."""
    me = services.require_writer(acting_user())
    zone = accounts.time_zone_of(me)
    form = PostForm()
    _publishing_help(form, zone)

    def save() -> Post:
        created = services.create_post(
            me,
            **editor_routes.form_fields(form),
            published=bool(form.published.data),
            **_publication(form, zone, me),
        )
        if form.submit_for_review.data and not created.published:
            services.submit_post(me, created)
        signals.post_saved.send(post=created, actor=me)
        return created

    submission = editor_routes.submit(me, form, None, save)
    if submission.saved is not None:
        created = submission.saved
        flash(_saved_message(created), "success")
        return redirect(_post_url(created), code=303)
    return _render_editor(form, None, submission)


@bp.route("/edit/<int:id>", methods=["GET", "POST"])
@larger_body("MEDIA_MAX_BYTES", extra=FORM_ROOM)
@login_required
def edit(id: int) -> ResponseReturnValue:
    """Change a post; its writer or an editor only (403 for others)."""
    me = acting_user()
    found = services.get_post_to_edit(me, id)
    zone = accounts.time_zone_of(me)
    local_date = (
        timezones.utc_to_local(found.published_at, zone).replace(tzinfo=None, second=0)
        if found.published_at
        else None
    )
    form = EditPostForm(
        data={
            "title": found.title,
            "summary": found.summary,
            "body": found.body,
            "tags": ", ".join(t.name for t in found.tags),
            "published": found.published,
            "featured_image": str(found.featured_image_id or found.featured_image_url or ""),
            "featured_image_alt": found.featured_image_alt,
            "meta_title": found.meta_title,
            "meta_description": found.meta_description,
            "version": editor.version_of(found),
            "publish_at": local_date.replace(microsecond=0) if local_date else None,
        }
    )
    _publishing_help(form, zone)
    was_published = found.published and found.is_live

    def save() -> Post:
        # A form without the field (a script, an old page) names the version loaded here.
        editor.claim_version(me, found.id, form.version.data or editor.version_of(found))
        saved = services.update_post(
            me,
            found,
            **editor_routes.form_fields(form),
            published=bool(form.published.data),
            regenerate_slug=bool(form.regenerate_slug.data),
            **_publication(form, zone, me),
        )
        if form.submit_for_review.data and not saved.published:
            services.submit_post(me, saved)
        signals.post_saved.send(post=saved, actor=me)
        return saved

    submission = editor_routes.submit(me, form, found, save)
    if submission.saved is not None:
        flash(_saved_message(found, was_published), "success")
        return redirect(_post_url(found), code=303)
    return _render_editor(form, found, submission)


@bp.post("/submit/<int:id>")
@login_required
def submit(id: int) -> ResponseReturnValue:
    """Put one's own draft (or a post sent back) in the editors' review queue."""
    me = acting_user()
    found = services.submit_post(me, services.get_post_by_id(me, id))
    flash(_saved_message(found), "success")
    return redirect(_next_or(_post_url(found)), code=303)


@bp.post("/delete/<int:id>")
@login_required
def delete(id: int) -> ResponseReturnValue:
    """Delete a post; its author or an admin only (403 for others)."""
    me = acting_user()
    services.delete_post(me, services.get_post_by_id(me, id))
    flash("Post deleted.", "success")
    return redirect(url_for("blog.my_posts"), code=303)


# --- comments -----------------------------------------------------------------------------


@bp.post("/post/<slug>/comment")
@login_first(_post_page)
def comment(slug: str) -> ResponseReturnValue:
    """Comment on a post; held for a moderator when the site asks for approval."""
    me = acting_user()
    found = services.get_post(me, slug)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            added = services.add_comment(me, found, form.body.data or "")
        except Invalid as error:
            apply_errors(form, error)
        else:
            if added.approved:
                flash("Comment posted.", "success")
            else:
                flash("Thanks! Your comment is awaiting approval by a moderator.", "info")
            target = _post_url(found)
            if found.comment_count > services.COMMENTS_PER_PAGE:
                # A long thread: open the page of comments that starts with the new one.
                start = services.Cursor(at=added.created_at, id=added.id - 1)
                target = url_for("blog.post", slug=found.slug, comments=start.encode())
            return redirect(f"{target}#comment-{added.id}", code=303)
    return _render_post(found, form, status=422)


@bp.post("/comments/<int:id>/delete")
@login_required
def delete_comment(id: int) -> ResponseReturnValue:
    """Delete a comment; its writer or a moderator only (403 for others)."""
    me = acting_user()
    found = services.get_visible_comment(me, id)
    target = _post_url(found.post)
    services.delete_comment(me, found)
    flash("Comment deleted.", "success")
    return redirect(_next_or(f"{target}#comments"), code=303)


# --- favorites and follows ----------------------------------------------------------------


@bp.post("/post/<slug>/favorite")
@login_first(_post_page)
def favorite(slug: str) -> ResponseReturnValue:
    """Mark a post as a favorite (doing it twice changes nothing)."""
    me = acting_user()
    found = services.get_post(me, slug)
    services.favorite(me, found)
    return redirect(_next_or(_post_url(found)), code=303)


@bp.post("/post/<slug>/unfavorite")
@login_first(_post_page)
def unfavorite(slug: str) -> ResponseReturnValue:
    """Remove a post from the favorites."""
    me = acting_user()
    found = services.get_post(me, slug)
    services.unfavorite(me, found)
    return redirect(_next_or(_post_url(found)), code=303)


@bp.post("/author/<username>/follow")
@login_first(_author_page)
def follow(username: str) -> ResponseReturnValue:
    """Follow an author: their new posts appear in the feed."""
    me = acting_user()
    user = accounts.get_user(me, username)
    accounts.follow(me, user)
    flash(f"You are following {user.username}.", "success")
    return redirect(_next_or(_author_page(user.username)), code=303)


@bp.post("/author/<username>/unfollow")
@login_first(_author_page)
def unfollow(username: str) -> ResponseReturnValue:
    """Stop following an author."""
    me = acting_user()
    user = accounts.get_user(me, username)
    accounts.unfollow(me, user)
    flash(f"You no longer follow {user.username}.", "info")
    return redirect(_next_or(_author_page(user.username)), code=303)
