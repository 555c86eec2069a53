"""The FastAPI application: routers, error handlers, process-wide services."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from clientcard import __version__, web
from clientcard.accounts import api as accounts_api
from clientcard.attachments import api as attachments_api
from clientcard.auth import api as auth_api
from clientcard.auth.service import TokenCache
from clientcard.campaigns import api as campaigns_api
from clientcard.campaigns import records_api as campaign_records_api
from clientcard.cases import api as cases_api
from clientcard.config import Settings, get_settings
from clientcard.contacts import api as contacts_api
from clientcard.context import open_database
from clientcard.custom_fields import api as custom_fields_api
from clientcard.customers import api as customers_api
from clientcard.db import Database
from clientcard.errors import DomainError
from clientcard.http import Services, StrictJsonBody
from clientcard.ingestion import api as ingestion_api
from clientcard.interactions import api as interactions_api
from clientcard.live import api as live_api
from clientcard.schemas import READ_ONLY_FIELDS
from clientcard.statuses import api as statuses_api

log = logging.getLogger("clientcard")
PROBLEM = "application/problem+json"
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        where = parts.pop(0)
        if where == "header" and parts:
            return "-".join(w.capitalize() for w in str(parts[0]).replace("_", "-").split("-"))
    return ".".join(str(p) for p in parts) or "body"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return "is read-only" if name in READ_ONLY_FIELDS else "is not a known field"
    if kind == "missing":
        return "is required"
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])  # the validator's own words, not "Value error, ..."
    return str(error.get("msg", "is not valid"))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field_name(tuple(e["loc"])), "message": _message(e)} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Validation failed", detail, errors=errors)


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    response = JSONResponse(exc.problem(), status_code=exc.status, media_type=PROBLEM)
    if headers:
        response.headers.update(headers)
    return response


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    response = problem(exc.status_code, _reason(exc.status_code), str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
    log.info("write refused by a constraint: %s", exc.orig)
    return problem(409, "Conflict", "the change collides with data written at the same time")


async def _operational_error(_request: Request, exc: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", exc.orig)
    return problem(503, "Service unavailable", "the database is busy or unreachable; retry")


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal server error", "an unexpected error happened; it was logged")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The app, run under one set of settings: its database's, which its routes and the
    units of work they open (`clientcard.context.settings_of`) all read. Given settings
    only, the database is opened for them; given both, they must be the same."""
    if database is None:
        database = open_database(settings or get_settings())
    elif settings is not None and settings != database.settings:
        raise ValueError("the database was opened with other settings than the app's")
    settings = database.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await database.close_async()  # the screen pop's async pool of this loop

    app = FastAPI(
        lifespan=lifespan,
        title="clientcard",
        version=__version__,
        description="The customer card of an omnichannel contact center.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from the package's own copy of Swagger UI
        redoc_url=None,
    )
    app.state.services = Services(
        db=database, settings=settings, tokens=TokenCache(settings.token_cache_seconds)
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    customers_api.install_screen_pop(app)
    app.include_router(auth_api.router)
    app.include_router(customers_api.router)
    app.include_router(contacts_api.router)
    app.include_router(campaigns_api.router)
    app.include_router(accounts_api.router)
    app.include_router(campaign_records_api.router)
    app.include_router(cases_api.router)
    app.include_router(custom_fields_api.router)
    app.include_router(ingestion_api.router)
    app.include_router(interactions_api.router)
    app.include_router(live_api.router)
    app.include_router(attachments_api.router)
    app.include_router(statuses_api.router)
    web.install(app)  # the web pages, their session cookie and static files
    # JSON bodies held to clientcard.validation's rules, and to a size
    app.add_middleware(StrictJsonBody, max_bytes=settings.max_json_bytes)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI from the package (no CDN: the page works on an air-gapped site)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="clientcard API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui-{SWAGGER_UI_VERSION}.css",
            swagger_favicon_url=f"{SWAGGER_UI}/swagger-ui-favicon-{SWAGGER_UI_VERSION}.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},  # no badge from an outside validator
        )

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


# ---- the OpenAPI document ------------------------------------------------------------------

SWAGGER_UI = "/static/vendor"
SWAGGER_UI_VERSION = "5.35.0"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each offending field.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_TEXT = {
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    412: "If-Match names a version that is no longer current",
    413: "The body is too large",
    415: "The media type is not accepted",
    422: "Validation failed: `errors` names each field",
    428: "If-Match is required",
    503: "The database is busy or unreachable; retry",
}
_IF_MATCH = re.compile(r"expected_version\(\s*request\s*,\s*required=(True|False)\s*\)")
_PUBLIC = {("post", "/api/v1/auth/token")}


def _if_match(endpoint: Any) -> bool | None:
    """Whether a route needs If-Match (True), honours it (False) or ignores it (None):
    read from its call to `http.expected_version`, so the document cannot disagree."""
    try:
        source = inspect.getsource(endpoint)
    except (OSError, TypeError):
        return None
    found = _IF_MATCH.search(source)
    return None if found is None else found.group(1) == "True"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, completed: the bearer scheme, If-Match where a route reads it,
    and the problem+json answers each operation can give (FastAPI only knows its own 422,
    in a shape this API does not send)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/auth/token, or an API token.",
        }
    }
    if_match = {
        (method.lower(), route.path): _if_match(route.endpoint)
        for route in routing.iter_route_contexts(app.routes)
        if route.endpoint is not None
        for method in route.methods or ()
    }
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            _complete(operation, method, path, if_match.get((method, path)))
    app.openapi_schema = doc
    return doc


def _complete(operation: dict[str, Any], method: str, path: str, if_match: bool | None) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    statuses |= {422, 503}
    api = path.startswith("/api/v1")
    if api and (method, path) not in _PUBLIC:
        operation["security"] = [{"bearer": []}]
        statuses |= {401, 403}
    if "{" in path or (api and method != "get"):
        statuses.add(404)
    if method in ("post", "put", "patch", "delete"):
        statuses.add(409)
    if if_match is not None:
        statuses.add(412)
        if if_match:
            statuses.add(428)
        parameters = operation.setdefault("parameters", [])
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": if_match,
                "description": 'The ETag ("version") the change is based on; 412 when stale.',
                "schema": {"type": "string"},
            }
        )
    if path == "/healthz":
        statuses = set()
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": _PROBLEM_TEXT.get(status, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
