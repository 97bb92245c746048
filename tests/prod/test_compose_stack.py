"""deploy/compose.yaml for real: the images built, the whole stack started, a visitor's journey.

Docker Hub is out of reach here, so the base images are stand-ins built from Debian packages
(``deploy/standin/build_bases.py``) and swapped in by ``deploy/compose.standin.yaml``, which
changes images and build arguments only: the Dockerfile, the compose file and the nginx and
gunicorn settings are the ones users run. A test SMTP server (aiosmtpd, in a container on the
stack's network) receives what the worker sends. The journey goes through nginx's port on
127.0.0.1 with the site's own forms (CSRF on, production config): two people register, one
follows the emailed confirmation link, writes a post, the other comments on it and the author
is emailed. Then the web containers are restarted, and then the whole stack is taken down and
started again on its volumes: the post, the comment and the logins are all still there.

Docker must be running, or startable by this test (as root, ``dockerd``); a machine where
dockerd cannot start skips the test with the reason, in CI too. Missing packages (docker.io,
docker-compose, debootstrap) skip it locally and fail it in CI, where ``.ci/run`` installs them.
"""

from __future__ import annotations

import base64
import email
import email.policy
import http.client
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from tests import images
from tests.pages import multipart
from tests.prod.browser import Browser
from tests.servers import free_port
from tests.skips import unavailable

# Needs PostgreSQL and Redis (its own, in containers): it runs in the suite's second pass.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # a cold machine builds every image first (README: figures)
    # Only where dockerd cannot start at all (no kernel support, a locked-down container):
    # missing packages still fail in CI through _unavailable.
    pytest.mark.skip_allowed_in_ci(reason="dockerd cannot start on some machines, CI ones too"),
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HERE = Path(__file__).resolve().parent
MAILSINK_IMAGE = "penpress-standin/mailsink:latest"
# Built by this test (compose.standin.yaml names the first two); the previous build of each is
# removed once replaced, so code changes do not pile up old images.
BUILT_IMAGES = (
    "penpress-standin/penpress:latest",
    "penpress-standin/penpress-nginx:latest",
    MAILSINK_IMAGE,
)
STANDIN_PYTHON = "penpress-standin/python:bookworm"
READY_WAIT = 180.0  # seconds for the stack to answer /readyz through nginx
MAIL_WAIT = 90.0  # seconds for the worker to deliver an email
PASSWORD = "a-long-enough-password"


def _unavailable(reason: str) -> NoReturn:
    """A missing package: skipped here, a failure in CI (``.ci/run`` installs it)."""
    unavailable(f"Docker is required: {reason}")


def _docker_answers() -> bool:
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return result.returncode == 0


@pytest.fixture(scope="module")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A running Docker engine: the one already running, or a ``dockerd`` started (as root)
    for this module and stopped afterwards."""
    for tool, package in (("docker", "docker.io"), ("debootstrap", "debootstrap")):
        if not shutil.which(tool):
            _unavailable(f"{tool} is not installed (apt-get install {package})")
    if _docker_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if not dockerd:
        _unavailable("dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        _unavailable("Docker is not running, and only root can start dockerd")
    log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(dockerd)], stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while not _docker_answers():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            tail = log.read_text(errors="replace")[-2000:]
            # Not a missing package: this machine cannot run Docker at all, so skip even in CI.
            pytest.skip(f"dockerd does not start on this machine:\n{tail}")
        time.sleep(0.5)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _compose_program() -> list[str]:
    """``docker compose`` (v2) where the plugin is installed, else Debian 12's
    ``docker-compose`` 1.29; both take the same arguments for everything used here."""
    plugin = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
    )
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    _unavailable("neither `docker compose` nor docker-compose is installed")


def _run(
    command: list[str],
    log: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    context: Callable[[], str] | None = None,
) -> str:
    """Run ``command``, appending its output and duration to ``log``; fail the test with the
    output's end (and ``context()``, e.g. the containers' logs) if it fails."""
    started = time.monotonic()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    with log.open("a") as output:
        seconds = time.monotonic() - started
        output.write(f"$ {' '.join(command)}  # {seconds:.1f} s\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-5000:]}\n{context() if context else ''}",
            pytrace=False,
        )
    return result.stdout


def _image_id(name: str) -> str | None:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", name],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def _left_behind(project: str) -> list[str]:
    """Containers, networks and volumes of compose project ``project`` that still exist."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("container", "network", "volume"):
        listing = subprocess.run(
            ["docker", kind, "ls", "--quiet", "--filter", label]
            + (["--all"] if kind == "container" else []),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        found += [f"{kind} {name}" for name in listing.stdout.split()]
    return found


def _constraint(package: str) -> str:
    """The version constraints.txt pins ``package`` to."""
    found = re.search(
        rf"^{re.escape(package)}==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE
    )
    assert found, f"{package} is not pinned in constraints.txt"
    return found.group(1)


@dataclass
class Stack:
    """The running compose project and how to reach it."""

    compose: list[str]  # the compose program with -p, -f and --env-file
    env: dict[str, str]
    log: Path
    port: int

    @property
    def site_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 300) -> str:
        return _run([*self.compose, *args], self.log, timeout, env=self.env, context=self.logs)

    def container_ids(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).split()

    def logs(self, *services: str) -> str:
        result = subprocess.run(
            [*self.compose, "logs", "--no-color", "--tail=60", *services],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=self.env,
            cwd=ROOT,
        )
        return result.stdout + result.stderr

    def wait_ready(self) -> None:
        """Until nginx answers /readyz from a web instance with every check ok."""
        deadline = time.monotonic() + READY_WAIT
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                reply = Browser().get(self.port, "/readyz")
                if reply.status == 200 and reply.json()["status"] == "ready":
                    return
                last = f"{reply.status} {reply.text[:300]}"
            except (OSError, http.client.HTTPException) as error:  # not listening yet
                last = repr(error)
            time.sleep(1)
        pytest.fail(f"the stack was not ready within {READY_WAIT:.0f}s ({last}):\n{self.logs()}")

    def mails(self) -> list[EmailMessage]:
        """Every message the test SMTP server has received so far."""
        (container,) = self.container_ids("mailsink")
        printed = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        messages = []
        for line in printed.splitlines():
            if line.startswith("{"):
                raw = base64.b64decode(json.loads(line)["data"])
                message = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                messages.append(message)
        return messages

    def wait_for_mail(self, to: str, subject: str) -> EmailMessage:
        deadline = time.monotonic() + MAIL_WAIT
        received: list[tuple[str, str]] = []
        while time.monotonic() < deadline:
            messages = self.mails()
            # A long encoded Subject is folded right after "Subject:", and Python's parser
            # keeps the space of the fold (mail programs drop it).
            received = [(str(m["To"]), str(m["Subject"]).strip()) for m in messages]
            for message, (sent_to, sent_subject) in zip(messages, received, strict=True):
                if (sent_to, sent_subject) == (to, subject):
                    return message
            time.sleep(0.5)
        pytest.fail(
            f"no email {subject!r} to {to} within {MAIL_WAIT:.0f}s; received: {received}\n"
            f"{self.logs('worker')}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def stack(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Stand-in bases (built or reused), the app and nginx images, the stack up and ready."""
    folder = tmp_path_factory.mktemp("compose")
    log = folder / "commands.log"
    compose = _compose_program()
    previous = {name: _image_id(name) for name in BUILT_IMAGES}
    _run([sys.executable, str(DEPLOY / "standin" / "build_bases.py")], log, timeout=1200)
    _run(
        [
            "docker",
            "build",
            "--quiet",
            "--build-arg",
            f"PYTHON_IMAGE={STANDIN_PYTHON}",
            "--build-arg",
            f"AIOSMTPD_VERSION={_constraint('aiosmtpd')}",
            "--tag",
            MAILSINK_IMAGE,
            str(HERE / "mailsink"),
        ],
        log,
        timeout=600,
    )

    port = free_port()
    settings = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "HTTP_ADDRESS": "127.0.0.1",
        "HTTP_PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "MAIL_SERVER": "mailsink",
        "MAIL_PORT": "1025",
        "MAIL_USE_TLS": "false",
        "MAIL_DEFAULT_SENDER": "Penpress <noreply@penpress.test>",
        # The owner lets everyone who signs up write (new accounts are readers otherwise);
        # deploy/.env -> compose.yaml -> the app, as docs/web.md describes.
        "DEFAULT_ROLE": "author",
    }
    env_file = folder / "stack.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    # Only what the compose program needs: nothing from this process's settings leaks in.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "DOCKER_HOST") if key in os.environ}
    project = f"penpress-test-{secrets.token_hex(4)}"
    files = [
        DEPLOY / "compose.yaml",
        DEPLOY / "compose.standin.yaml",
        HERE / "compose.mailsink.yaml",
    ]
    running = Stack(
        compose=[
            *compose,
            "--project-name",
            project,
            *(arg for path in files for arg in ("--file", str(path))),
            "--env-file",
            str(env_file),
        ],
        env=env,
        log=log,
        port=port,
    )
    try:
        running.run("build", timeout=1200)
        for name, before in previous.items():
            if before and before != _image_id(name):
                subprocess.run(["docker", "image", "rm", before], capture_output=True, check=False)
        running.run("up", "--detach", timeout=600)
        running.wait_ready()
        yield running
    finally:
        subprocess.run(
            [*running.compose, "down", "--volumes", "--remove-orphans", "--timeout", "10"],
            capture_output=True,
            check=False,
            timeout=300,
            env=env,
            cwd=ROOT,
        )
    # `down -v` leaves nothing of the project behind but the images.
    assert _left_behind(project) == []


def _register(stack: Stack, username: str) -> Browser:
    """A new account, registered through the site's form (which logs it in)."""
    person = Browser()
    token = person.csrf_token(stack.port, "/auth/register")
    reply = person.post(
        stack.port,
        "/auth/register",
        {
            "csrf_token": token,
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert reply.status == 303, reply.text
    return person


def _confirm(stack: Stack, person: Browser, username: str) -> None:
    """Follow the confirmation link the worker emailed ``username`` (production asks for a
    confirmed address before publishing or commenting)."""
    assert "Please confirm your email address" in _profile(stack, person)
    confirmation = stack.wait_for_mail(f"{username}@example.com", "Confirm your email address")
    body = confirmation.get_body(preferencelist=("plain",))
    assert body is not None
    links = re.findall(rf"{re.escape(stack.site_url)}/auth/confirm/\S+", str(body.get_content()))
    assert len(links) == 1, body
    followed = person.get(stack.port, urlsplit(links[0]).path)
    assert followed.status == 302, followed.text
    assert "Please confirm your email address" not in _profile(stack, person)


def _profile(stack: Stack, person: Browser) -> str:
    """The person's profile page; fails unless they are logged in."""
    reply = person.get(stack.port, "/auth/profile")
    assert reply.status == 200, (reply.status, reply.headers.get("Location"))
    return reply.text


def _check_nothing_was_lost(
    stack: Stack, author: Browser, commenter: Browser, post_path: str, comment: str
) -> None:
    """The post is served to everyone, the (pending) comment to its writer and the author,
    and both logins still work."""
    anonymous = Browser().get(stack.port, post_path)
    assert anonymous.status == 200
    assert "Packing for the stand-in stack" in anonymous.text
    assert comment not in anonymous.text  # still waiting for a moderator
    for person in (author, commenter):
        page = person.get(stack.port, post_path)
        assert page.status == 200
        assert comment in page.text
        assert "Awaiting approval" in page.text
    assert "author-" in _profile(stack, author)
    assert "reader-" in _profile(stack, commenter)


def _upload_image(stack: Stack, author: Browser) -> tuple[str, int]:
    """Upload a PNG as the editor does; ``(its /media/ path, its size)``."""
    body, content_type = multipart({}, {"file": (images.png(size=(1200, 600)), "cover.png")})
    token = author.csrf_token(stack.port, "/blog/create")
    reply = author.request(
        stack.port,
        "POST",
        "/uploads",
        body=body,
        headers={"Content-Type": content_type, "X-CSRFToken": token},
    )
    assert reply.status == 201, reply.text
    answer = reply.json()
    assert answer["url"].startswith(f"{stack.site_url}/media/")
    served = _check_image_served(stack, (answer["path"], 0))
    return answer["path"], served


def _check_image_served(stack: Stack, image: tuple[str, int]) -> int:
    """nginx serves the image from the volume (the app would add its X-Request-ID)."""
    path, size = image
    reply = Browser().get(stack.port, path)
    assert reply.status == 200, path
    assert reply.headers["Content-Type"] == "image/png"
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "X-Request-ID" not in reply.headers
    assert size in (0, len(reply.body))
    return len(reply.body)


def test_a_visitor_journey_through_the_compose_stack_survives_restarts(stack: Stack) -> None:
    suffix = secrets.token_hex(3)

    # Static files come straight from the nginx image, the rest from gunicorn behind it.
    css = Browser().get(stack.port, "/static/css/style.css")
    assert css.status == 200
    assert "max-age=2592000" in css.headers["Cache-Control"]
    home = Browser().get(stack.port, "/")
    assert home.status == 200
    assert home.headers["X-Request-ID"]

    # Registering logs in at once; the worker emails a confirmation link under SITE_URL.
    author = _register(stack, f"author-{suffix}")
    assert "author-" in _profile(stack, author)
    refused = author.post(
        stack.port,
        "/blog/create",
        {"csrf_token": author.csrf_token(stack.port, "/blog/create"), "title": "Too soon",
         "body": "Not confirmed yet.", "published": "y"},
    )  # fmt: skip
    assert refused.status == 403, refused.text  # production: confirm before publishing
    _confirm(stack, author, f"author-{suffix}")

    # A post written with the editor form.
    token = author.csrf_token(stack.port, "/blog/create")
    created = author.post(
        stack.port,
        "/blog/create",
        {
            "csrf_token": token,
            "title": "Packing for the stand-in stack",
            "summary": "What the compose file needs.",
            "body": "Images built **from Debian**, and a _worker_ that sends mail.",
            "tags": "docker, deploy",
            "published": "y",
        },
    )
    assert created.status == 303, created.text
    post_path = urlsplit(created.headers["Location"]).path
    assert post_path.startswith("/blog/post/")
    page = Browser().get(stack.port, post_path)
    assert page.status == 200
    assert "<strong>from Debian</strong>" in page.text

    # An image uploaded by the editor goes to the shared media volume, and nginx serves it.
    image = _upload_image(stack, author)

    # Someone else logs in through the login form, confirms their address and comments; the
    # author is emailed.
    _register(stack, f"reader-{suffix}")
    commenter = Browser()
    token = commenter.csrf_token(stack.port, "/auth/login")
    logged_in = commenter.post(
        stack.port,
        "/auth/login",
        {"csrf_token": token, "email": f"reader-{suffix}@example.com", "password": PASSWORD},
    )
    assert logged_in.status == 303, logged_in.text
    _confirm(stack, commenter, f"reader-{suffix}")
    comment = f"Worked on the first try ({suffix})."
    token = commenter.csrf_token(stack.port, post_path)
    commented = commenter.post(
        stack.port, f"{post_path}/comment", {"csrf_token": token, "body": comment}
    )
    assert commented.status == 303, commented.text
    notification = stack.wait_for_mail(
        f"author-{suffix}@example.com", "New comment on “Packing for the stand-in stack”"
    )
    text = notification.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"{stack.site_url}{post_path}" in str(text.get_content())
    _check_nothing_was_lost(stack, author, commenter, post_path, comment)
    _check_image_served(stack, image)

    # The instance folder of the image is writable by the app's user.
    instance = stack.run(
        "exec",
        "-T",
        "web",
        "python",
        "-c",
        "import os, penpress; p = penpress.instance_path(); "
        "assert os.access(p, os.W_OK), p; print(p)",
    )
    assert instance.strip() == "/app/instance"

    # nginx spread the journey over both web instances (their access logs show requests).
    web = stack.container_ids("web")
    assert len(web) == 2
    for container in web:
        access_log = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, check=True, timeout=60
        )
        assert re.search(r'"(GET|POST) /', access_log.stdout + access_log.stderr), container

    # Both web instances restarted: sessions and data live in PostgreSQL, not in a process.
    stack.run("restart", "web")
    stack.wait_ready()
    _check_nothing_was_lost(stack, author, commenter, post_path, comment)
    _check_image_served(stack, image)

    # The whole stack taken down (containers and network, not the volumes) and started again.
    stack.run("down", "--timeout", "10")
    stack.run("up", "--detach", timeout=600)
    stack.wait_ready()
    _check_nothing_was_lost(stack, author, commenter, post_path, comment)
    _check_image_served(stack, image)
