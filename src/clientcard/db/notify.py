"""Messages between the processes that serve one database: PostgreSQL's LISTEN/NOTIFY.

SQLite serves one process, so it has no channel (`channel` gives None) and a process's own
subscribers are all there is. On PostgreSQL a `Channel` sends the payloads of a unit of
work with one `SELECT pg_notify(channel, p) FROM unnest(...)` on a pooled connection, and
`listening()` opens a connection of its own (psycopg 3, autocommit) that yields what every
process sends, the sender's own included. Payloads stay under PostgreSQL's limit of 8,000
bytes (`MAX_PAYLOAD`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from clientcard.db.work import Database

MAX_PAYLOAD = 7_900  # PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more
_SEND = text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p")


class Listener:
    """An open LISTEN connection."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def payloads(self, timeout: float) -> Iterator[str]:
        """The payloads that arrive within `timeout` seconds."""
        for notify in self._connection.notifies(timeout=timeout):
            yield notify.payload


class Channel:
    """A named channel between the processes of one database."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name
        args, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters, not needed to LISTEN
        self._connect_args = (list(args), params)

    def send(self, payloads: Sequence[str]) -> None:
        """Sends the payloads (each at most `MAX_PAYLOAD` bytes) in one statement."""
        if not payloads:
            return
        with self._engine.connect() as connection:
            connection.execute(_SEND, {"channel": self.name, "payloads": list(payloads)})
            connection.commit()

    @contextmanager
    def listening(self) -> Iterator[Listener]:
        """A connection listening on the channel, closed when the block ends. A lost
        connection raises from `Listener.payloads`."""
        import psycopg

        args, params = self._connect_args
        with psycopg.connect(*args, **params, autocommit=True) as connection:
            connection.execute(f"LISTEN {self.name}")
            yield Listener(connection)


def channel(database: Database, name: str) -> Channel | None:
    """The channel `name` between the processes of `database`; None when one process is
    all a database has (SQLite)."""
    return Channel(database.engine, name) if database.shared_by_processes else None
