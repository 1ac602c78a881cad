"""The application factory."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from htmx_flask import Htmx
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from visits.calendar import WorkCalendar
from visits.config import OfficeConfig, load_config
from visits.db import make_engine, make_sessionmaker, settings_engine
from visits.errors import PriyomError
from visits.push import InProcessBus, PostgresBus, PushBus, push_session_info
from visits.ru import by_gender_of
from visits.rules import MAX_TRANSFERS
from visits.settings import Settings, settings_load
from visits.web.auth import ROLE_LABELS, check_csrf, csrf_token, current_staff, refusal_audit
from visits.web.context import Priyom
from visits.web.htmx import is_fragment_request, render
from visits.web.security import (
    check_request_input,
    install_converters,
    limits_install,
    metrics_guard,
    security_headers,
)
from visits.web.sse import push_stream_url

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr in one readable line per event (level: PRIYOM_LOG_LEVEL)."""
    root = logging.getLogger()
    # python-escpos calls logging.basicConfig() on import: its plain stderr handler
    # would make ours a no-op and drop our INFO lines, so it goes. Other handlers
    # stay (not force=True): the host's, and pytest's capture in the CLI tests.
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    logging.basicConfig(format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    root.setLevel(level)


def _secret_key(settings: Settings) -> str:
    """PRIYOM_SECRET_KEY, or a key kept in the var dir so restarts keep logins."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_app(
    *,
    config: OfficeConfig | None = None,
    session_factory: Callable[[], Session] | None = None,
    database: str | None = None,
    demo: bool | None = None,
    settings: dict[str, Any] | None = None,
    environment: Settings | None = None,
    push_bus: PushBus | None = None,
) -> Flask:
    """Build the Flask app with every screen registered.

    `settings` are Flask config overrides; `environment` the deployment's
    variables, read from the process environment when not given; `push_bus`
    the bus of this app (chosen from the database when not given).
    """
    app = Flask(__name__)
    env = environment or settings_load()
    office = config or load_config(env.config)
    is_demo = demo if demo is not None else env.demo
    # The demo (and the browser tests, which run at any hour) use an office open around the clock.
    calendar = WorkCalendar(office, always_open=is_demo or env.always_open)
    if session_factory is None:
        session_factory, bus = _open_database(app, env, database, push_bus)
    else:
        bus = push_bus or InProcessBus()
        session_factory = _sessions_waking(session_factory, bus)
    _configure(app, env, demo=is_demo, overrides=settings)
    limits_install(app)
    _trust_proxies(app, env)
    app.extensions["priyom"] = Priyom(
        config=office,
        calendar=calendar,
        session_factory=session_factory,
        settings=env,
        bus=bus,
        demo=is_demo,
    )
    Htmx(app)
    # Before any blueprint: routes compile their converters when registered.
    install_converters(app)
    _register_blueprints(app)
    _register_template_helpers(app, office, calendar)
    _register_request_hooks(app)
    _register_error_handlers(app)
    return app


def _open_database(
    app: Flask, env: Settings, database: str | None, push_bus: PushBus | None
) -> tuple[Callable[[], Session], PushBus]:
    """The engine for `database` (or the settings' one), kept on the app; its session
    factory, whose sessions wake the app's push bus."""
    engine = make_engine(database) if database else settings_engine(env)
    app.extensions["priyom_engine"] = engine
    bus = push_bus or _choose_push_bus(engine, env)
    return make_sessionmaker(engine, info=push_session_info(bus)), bus


def _sessions_waking(factory: Callable[[], Session], bus: PushBus) -> Callable[[], Session]:
    """A given session factory (the tests'), its sessions carrying the app's bus."""
    info = push_session_info(bus)

    def opened() -> Session:
        session = factory()
        session.info.update(info)
        return session

    return opened


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, its serializer built once per key instead of per request.

    Flask builds one on every request (open) and answer (save), and building one runs a
    JSON dump to learn what it returns: ~10 us of every request. A serializer keeps no
    state between calls, so threads share it; a changed key builds a new one.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._serializers.get(keys)
        if found is None:
            found = super().get_signing_serializer(app)
            if found is not None:
                self._serializers[keys] = found
        return found


def _configure(app: Flask, env: Settings, *, demo: bool, overrides: dict[str, Any] | None) -> None:
    """Flask's config from the settings: the session cookie, limits, /metrics; then `overrides`."""
    app.config.update(
        SECRET_KEY=_secret_key(env),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=env.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=env.session_hours),
        # The cookie is signed and sent again only when the session changes (login,
        # logout, a new CSRF token, a flash), not on every staff answer: its expiry
        # then counts from the login, as the server's own limit (session_hours) does.
        SESSION_REFRESH_EACH_REQUEST=False,
        PRIYOM_DEMO=demo,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        PRIYOM_METRICS_TOKEN=(
            env.metrics_token.get_secret_value() if env.metrics_token is not None else ""
        ),
        PRIYOM_METRICS_ALLOW=env.metrics_allow,
        PRIYOM_LIMITS=env.limits,
    )
    if overrides:
        app.config.update(overrides)
    app.session_interface = SessionCookies()


def _trust_proxies(app: Flask, env: Settings) -> None:
    """Behind nginx (PRIYOM_PROXIES) take the client's own address from X-Forwarded-For.

    Every request comes from nginx otherwise: the limits per address and the
    /metrics allow-list need the client's address.
    """
    if env.proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=env.proxies, x_proto=env.proxies, x_host=env.proxies
        )


def _choose_push_bus(engine: Engine, settings: Settings) -> PushBus:
    """PostgreSQL: LISTEN/NOTIFY carries push events between servers; SQLite: in-process."""
    if settings.push_bus == "memory" or engine.dialect.name != "postgresql":
        return InProcessBus()
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    log.info("push bus: PostgreSQL LISTEN/NOTIFY")
    return PostgresBus(conninfo)


def _screens() -> list[tuple[Blueprint, str | None]]:
    """Every screen's blueprint and its address prefix.

    Imported here, not at the top: the screens import visits.web, whose package
    imports this module.
    """
    from kiosk import bp as kiosk_bp
    from kiosk import public_bp as kiosk_public_bp
    from kiosk.views.tablet import rating_bp
    from signage import bp as signage_bp
    from staff_panel import bp as staff_bp
    from visits.web.auth import bp as auth_bp
    from visits.web.home import bp as home_bp
    from visits.web.ops import bp as ops_bp

    return [
        (auth_bp, None),
        (home_bp, None),
        (ops_bp, None),
        (staff_bp, "/staff"),
        (kiosk_bp, "/kiosk"),
        (kiosk_public_bp, None),  # /t/<token>, the ticket's own page
        (signage_bp, "/signage"),
        (rating_bp, None),  # /t/<token>/rating
    ]


def screens_import() -> None:
    """Import the code of every screen without building an app, and configure the ORM.

    The server's master calls this before it forks its workers: the modules
    (and the libraries they import) are then loaded once and their pages shared
    by every worker, instead of loaded again in each. SQLAlchemy configures its
    mappers at a process's first query and writes into every model's objects
    while doing so: done here, once, a worker's first query copies none of them
    (10 MiB a worker).
    """
    _screens()
    configure_mappers()


def _register_blueprints(app: Flask) -> None:
    for blueprint, prefix in _screens():
        app.register_blueprint(blueprint, url_prefix=prefix)


def _register_template_helpers(app: Flask, office: OfficeConfig, calendar: WorkCalendar) -> None:
    def local(moment: datetime | None, fmt: str = "%H:%M") -> str:
        return calendar.to_local(moment).strftime(fmt) if moment else ""

    app.jinja_env.filters["local"] = local
    app.jinja_env.globals.update(
        office=office.office,
        office_config=office,
        csrf_token=csrf_token,
        current_staff=current_staff,
        ROLE_LABELS=ROLE_LABELS,
        # Rules of the order that screens mention, read from the core (§23).
        MAX_TRANSFERS=MAX_TRANSFERS,
        by_gender_of=by_gender_of,
        stream_url=push_stream_url,
    )


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _edge() -> None:
        check_request_input()
        metrics_guard()
        check_csrf()

    @app.teardown_request
    def _close_db(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _headers(response: Response) -> Response:
        return security_headers(response)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
        and not request.headers.get("HX-Request")
    )


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PriyomError)
    def _domain_error(exc: PriyomError) -> ResponseReturnValue:
        log.info("refused %s %s: %s (%s)", request.method, request.path, exc.code, exc.message)
        if exc.status == 403:
            refusal_audit(exc)
        if _wants_json():
            return jsonify(error=exc.code, message=exc.message, field=exc.field), exc.status
        return render(
            "web/error.html",
            "web/partials/_error.html",
            status=exc.status,
            message=exc.message,
            code=exc.code,
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        messages = {
            403: "У вас нет доступа к этой странице.",
            404: "Такой страницы нет.",
            405: "Это действие здесь недоступно.",
            413: "Слишком большой запрос.",
        }
        message = messages.get(exc.code or 500, "Запрос не выполнен.")
        if exc.code == 403:
            refusal_audit(exc)
        if _wants_json():
            status = exc.code or 500
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=message), status
        return render(
            "web/error.html",
            "web/partials/_error.html",
            status=exc.code or 500,
            message=message,
            code=str(exc.code),
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = (
            "Что-то пошло не так. Повторите действие; если не получится, позовите администратора."
        )
        if _wants_json():
            return jsonify(error="internal", message=message), 500
        if is_fragment_request():
            return render(
                "web/error.html",
                "web/partials/_error.html",
                status=500,
                message=message,
                code="500",
            )
        return render("web/error.html", status=500, message=message, code="500")
