"""The serving files in deploy/ are valid: gunicorn settings, nginx syntax, the compose file."""

from __future__ import annotations

import http.client
import importlib.util
import multiprocessing
import re
import runpy
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.servers import free_port, wait_for_port
from tests.skips import unavailable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_gunicorn_settings_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["bind"] == ["127.0.0.1:8123"]  # loopback unless HOST says otherwise
    assert settings["workers"] == multiprocessing.cpu_count() * 2 + 1
    assert "%({x-request-id}o)s" in settings["access_log_format"]
    assert settings["control_socket_disable"] is True  # instances on one host would collide

    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["bind"] == ["0.0.0.0:8123"]
    assert settings["workers"] == 3

    (tmp_path / "counter_123.db").write_text("stale")
    (tmp_path / "keep.txt").write_text("not ours")
    settings["on_starting"](None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def _nginx_files(tmp_path: Path, tls: bool, media: Path | None = None) -> Path:
    """deploy/nginx.conf made checkable here: includes from tmp_path, a resolvable upstream,
    uploaded images from ``media``, and for ``tls`` the "#tls " lines switched on with a
    throwaway certificate."""
    media = media or tmp_path / "media"
    text = (DEPLOY / "nginx.conf").read_text()
    for name in ("penpress-locations.conf", "penpress-proxy.conf"):
        text = text.replace(f"/etc/nginx/{name}", str(tmp_path / name))
        included = (DEPLOY / name).read_text()
        for other in ("penpress-proxy.conf",):
            included = included.replace(f"/etc/nginx/{other}", str(tmp_path / other))
        included = included.replace("/srv/penpress/media/", f"{media}/")
        (tmp_path / name).write_text(included)
    text = text.replace("server web:8000", "server 127.0.0.1:8000")
    text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    if tls:
        text = re.sub(r"^(\s*)#tls ", r"\1", text, flags=re.MULTILINE)
        text = text.replace("/etc/nginx/tls/", f"{tmp_path}/")
        subprocess.run(  # noqa: S603
            [
                shutil.which("openssl") or "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=blog.example.com",
                "-keyout",
                str(tmp_path / "privkey.pem"),
                "-out",
                str(tmp_path / "fullchain.pem"),
            ],
            check=True,
            capture_output=True,
        )
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    return config


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_nginx_config_is_valid(tmp_path: Path, tls: bool) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        unavailable("nginx is not installed (apt-get install nginx-light)")
    if tls and not shutil.which("openssl"):
        unavailable("openssl is not installed (apt-get install openssl)")
    config = _nginx_files(tmp_path, tls)
    result = subprocess.run(  # noqa: S603
        [nginx, "-t", "-q", "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if tls:
        assert "return 301 https://$host$request_uri;" in config.read_text()


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for gunicorn: says which Host nginx passed on."""

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        body = f"app saw {self.headers.get('X-Forwarded-Host')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        size = len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        body = f"app read {size} bytes".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def nginx_media() -> Iterator[Path]:
    """A folder of uploaded images nginx's workers can read (as root, they run as nobody,
    who cannot enter pytest's private temporary folders)."""
    folder = Path(tempfile.mkdtemp(prefix="penpress-media-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def running_nginx(tmp_path: Path, nginx_media: Path) -> Iterator[int]:
    """deploy/nginx.conf served for real on a free 127.0.0.1 port, in front of a stub app."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        unavailable("nginx is not installed (apt-get install nginx-light)")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    config = _nginx_files(tmp_path, tls=False, media=nginx_media)
    text = config.read_text()
    text = text.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{upstream.server_port}")
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    text = re.sub(r"^\s*listen \[::\]:80.*$", "", text, flags=re.MULTILINE)
    config.write_text(text)
    log = tmp_path / "nginx.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [nginx, "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "e.log"),
             "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        try:
            wait_for_port(port, timeout=20, process=process)
        except (RuntimeError, TimeoutError) as failure:
            raise AssertionError(f"{failure}\n{log.read_text()}") from None
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        upstream.shutdown()
        upstream.server_close()


def _ask(port: int, host: str | None) -> tuple[int, str] | None:
    """GET /healthz with ``host`` as the Host header; None when nginx closes without a word."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", "/healthz", skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode()
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None
    finally:
        connection.close()


def test_nginx_answers_only_its_own_host_names(running_nginx: int) -> None:
    port = running_nginx
    for host in ("evil.example", f"evil.example:{port}", "localhost.evil.example"):
        assert _ask(port, host) is None, host  # 444: closed, nothing reaches the app
    for host in ("localhost", f"localhost:{port}", "127.0.0.1", f"127.0.0.1:{port}"):
        answer = _ask(port, host)
        assert answer is not None, host
        assert answer == (200, f"app saw {host.split(':')[0]}"), host


MEDIA_NAME = "0123456789abcdef0123456789abcdef-480w.png"


def _request(
    port: int, method: str, path: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers={"Host": "localhost"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_nginx_serves_uploaded_images_from_the_shared_folder(
    running_nginx: int, nginx_media: Path
) -> None:
    (nginx_media / MEDIA_NAME).write_bytes(b"\x89PNG image bytes")
    (nginx_media / MEDIA_NAME).chmod(0o644)  # as the app writes them
    (nginx_media / ".upload-partial").write_bytes(b"half written")
    status, headers, body = _request(running_nginx, "GET", f"/media/{MEDIA_NAME}")
    assert (status, body) == (200, b"\x89PNG image bytes")
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for other in ("/media/.upload-partial", f"/media/{MEDIA_NAME}.bak", "/media/x.png", "/media/"):
        assert _request(running_nginx, "GET", other)[0] == 404, other


def test_nginx_takes_large_bodies_only_where_files_are_uploaded(running_nginx: int) -> None:
    five_mb = b"x" * (5 * 1024 * 1024)
    for path in ("/uploads", "/api/v1/media", "/blog/create", "/blog/edit/12"):
        status, _headers, body = _request(running_nginx, "POST", path, five_mb)
        assert (status, body) == (200, f"app read {len(five_mb)} bytes".encode()), path
    # The console's import takes files of up to 256 MB; its neighbours keep the 3 MB limit.
    twenty_mb = b"x" * (20 * 1024 * 1024)
    status, _headers, body = _request(running_nginx, "POST", "/admin/transfer/import", twenty_mb)
    assert (status, body) == (200, f"app read {len(twenty_mb)} bytes".encode())
    assert _request(running_nginx, "POST", "/uploads", twenty_mb)[0] == 413
    for path in (
        "/api/v1/posts",
        "/blog/edit/12/autosave",
        "/auth/login",
        "/admin/transfer/export",
    ):
        assert _request(running_nginx, "POST", path, five_mb)[0] == 413, path


def test_compose_runs_the_whole_stack() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "nginx", "postgres", "redis"}
    assert services["web"]["deploy"]["replicas"] >= 2
    for name in ("web", "worker"):  # imports and exports run on the workers, on the web's files
        mounts = services[name]["volumes"]
        assert "media:/app/instance/media" in mounts, name
        assert "transfers:/app/instance/transfers" in mounts, name
    worker = services["worker"]["command"]
    assert worker[:3] == ["celery", "-A", "penpress.celery_app"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "penpress.celery_app", "beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1  # one beat, or jobs double
    assert importlib.util.find_spec("penpress.celery_app") is not None
    env = services["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["PROXY_FIX_X_FOR"] == "1"
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    # Uploaded images: one volume, written by every web instance, read by nginx.
    assert "media:/app/instance/media" in services["web"]["volumes"]
    assert "media:/srv/penpress/media:ro" in services["nginx"]["volumes"]
    assert "media" in compose["volumes"]
    assert "alias /srv/penpress/media/" in (DEPLOY / "penpress-locations.conf").read_text()


OFFICIAL_IMAGES = {
    "PYTHON_IMAGE": "python:3.11-slim-bookworm",
    "NGINX_IMAGE": "nginx:1.28-alpine",
    "POSTGRES_IMAGE": "postgres:16",
    "REDIS_IMAGE": "redis:7-alpine",
}


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM ${PYTHON_IMAGE} AS app" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    app_stage = dockerfile.split("FROM ${NGINX_IMAGE}")[0]
    assert re.search(r"^USER penpress$", app_stage, flags=re.MULTILINE)
    # The app's instance folder is set explicitly and writable by the app's user.
    assert "PENPRESS_INSTANCE_PATH=/app/instance" in app_stage
    assert "install -d -o penpress -g penpress /app/instance" in app_stage
    assert "/healthz" in app_stage.split("HEALTHCHECK", 1)[1]


def test_base_images_default_to_the_official_ones() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for name in ("PYTHON_IMAGE", "NGINX_IMAGE"):
        assert f"ARG {name}={OFFICIAL_IMAGES[name]}\n" in dockerfile
    # The compose variables have the same defaults, wherever compose.yaml uses them.
    compose = (DEPLOY / "compose.yaml").read_text()
    used = re.findall(r"\$\{([A-Z]+_IMAGE):-([^}]+)\}", compose)
    assert {name for name, _ in used} == set(OFFICIAL_IMAGES)
    assert all(default == OFFICIAL_IMAGES[name] for name, default in used), used


def test_the_standin_override_swaps_only_images_and_build_args() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    override = yaml.safe_load((DEPLOY / "compose.standin.yaml").read_text())
    assert set(override) <= {"services"} | {key for key in override if key.startswith("x-")}
    assert set(override["services"]) == set(services)
    for name, service in override["services"].items():
        assert set(service) <= {"image", "build"}, name
        assert set(service.get("build", {})) <= {"args"}, name
        assert service["image"] != services[name]["image"]  # never replaces a real image
        assert set(service.get("build", {}).get("args", {})) <= set(OFFICIAL_IMAGES), name


def test_every_environment_variable_is_documented() -> None:
    from penpress import config

    documented = (ROOT / "README.md").read_text()
    read_by_app = {
        *config._ENV_INT,
        *config._ENV_BOOL,
        *config._ENV_STR,
        *config._ENV_LIST,
        "DATABASE_URL",
        "PENPRESS_CONFIG",
        "PROMETHEUS_MULTIPROC_DIR",
    }
    read_by_gunicorn = set(
        re.findall(
            r"""(?:_int\(|environ\.get\()["']([A-Z_]+)["']""",
            (DEPLOY / "gunicorn.conf.py").read_text(),
        )
    )
    assert read_by_gunicorn >= {"PORT", "HOST", "WEB_CONCURRENCY"}
    missing = sorted(v for v in read_by_app | read_by_gunicorn if f"`{v}`" not in documented)
    assert missing == [], f"document these in the README's Production section: {missing}"
