"""Generated requests over the whole API (schemathesis reads the OpenAPI document): whatever
a client sends, valid or not, the answer is never a server error and always matches the
document. Runs on both databases as an administrator, a few examples per operation.

One test per database walks every operation with one app and one token: a test per
operation would create the administrator and empty the tables a hundred times over."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from clientcard.app import create_app
from clientcard.config import Settings
from clientcard.context import open_database
from tests.conftest import Api

EXAMPLES = 3  # per operation and per mode (valid and invalid input)
SKIPPED = {("DELETE", "/api/v1/auth/token")}  # logging out would end the run's token


def _document() -> dict[str, Any]:
    """The document as the app serves it (it depends on the routes, not on a database)."""
    with tempfile.TemporaryDirectory() as folder:
        unused = Settings(database_url=f"sqlite:///{folder}/unused.db", demo_on_first_start=False)
        database = open_database(unused)
        try:
            return create_app(unused, database).openapi()
        finally:
            database.dispose()


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = [
    operation
    for result in SCHEMA.get_all_operations()
    if ((operation := result.ok()).method.upper(), operation.path) not in SKIPPED
]


def _run(operation: Any, mode: GenerationMode, app: Any, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(
            app=app,
            headers={"Authorization": f"Bearer {token}"},
            checks=[not_a_server_error, response_schema_conformance],
        )

    check()


def test_no_server_error_and_answers_match_the_document(app, admin: Api) -> None:
    assert len(OPERATIONS) > 90
    failures = []
    for operation in OPERATIONS:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, app, admin.token)
            except Unsatisfiable:  # no invalid input exists (an operation without parameters)
                continue
            except Exception as exc:  # every operation's failure, not only the first
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
