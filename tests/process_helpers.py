"""Helpers for tests that run clientcard as a real process: fresh databases, a server
subprocess on a free port, and the venv's executables."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import postgres_url_or_skip

PYTHON = sys.executable
CLIENTCARD = str(Path(sys.executable).parent / "clientcard")
START_TIMEOUT = 60.0  # seconds for a server to answer /healthz (the demo load included)
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 15.0
_ADMIN_PASSWORD = re.compile(r"Log in as\s+admin\s+with\s+password\s+(\S+)")
_SERVER_PID = re.compile(r"Started server process \[(\d+)\]")
_names = itertools.count()


def process_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment for a clientcard process: ours minus any CLIENTCARD_ setting, plus
    the database and the settings given (e.g. demo_on_first_start="false")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTCARD_")}
    env["CLIENTCARD_DATABASE_URL"] = database_url
    for name, value in settings.items():
        env[f"CLIENTCARD_{name.upper()}"] = value
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(
    args: list[str], database_url: str, *, cwd: Path, input: str | None = None, timeout=60.0
) -> subprocess.CompletedProcess[str]:
    """Runs the venv's `clientcard` executable; never inherits a terminal."""
    return subprocess.run(
        [CLIENTCARD, *args],
        env=process_env(database_url),
        cwd=cwd,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


# ---- fresh databases -------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A new, empty database of its own: a SQLite file in `directory`, or a PostgreSQL
    database created for the test and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'fresh-{next(_names)}.db'}"
        return
    base = make_url(postgres_url_or_skip())
    name = f"clientcard_test_proc_{os.getpid()}_{next(_names)}"
    server = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


# ---- a server process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """`python -m clientcard serve` running as a child process (uvicorn in that process)."""

    process: subprocess.Popen[str]
    port: int
    _lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.join_output()
                    pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not answer /healthz within {timeout}s:\n{self.output}")

    def server_pid(self) -> int | None:
        """The pid uvicorn reports for the process that serves."""
        match = _SERVER_PID.search(self.output)
        return int(match.group(1)) if match else None

    def admin_password(self) -> str | None:
        """The first administrator's password, printed on the first start only."""
        match = _ADMIN_PASSWORD.search(self.output)
        return match.group(1) if match else None

    def kill(self) -> None:
        """SIGKILL to the serving process itself: no shutdown code runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)
        self.join_output()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self.join_output()

    def join_output(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=STOP_TIMEOUT)


@contextmanager
def running_server(database_url: str, cwd: Path, *, demo: bool = False) -> Iterator[Server]:
    """Starts `python -m clientcard serve` on a free port and waits until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "clientcard", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=process_env(database_url, demo_on_first_start="true" if demo else "false"),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Server(process, port)
    server._reader = threading.Thread(target=server._read, daemon=True)
    server._reader.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def login(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token",
        json={"username": username, "password": password},
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def api_client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=REQUEST_TIMEOUT,
    )


def all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10_000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError(f"{path} kept giving cursors")
