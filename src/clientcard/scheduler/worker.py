"""The background worker: applies scheduled changes when they fall due."""

from __future__ import annotations

import logging
import threading
import time

from clientcard.base import utcnow
from clientcard.db import Database
from clientcard.scheduler import service

log = logging.getLogger("clientcard.worker")
BATCH = 100


def run_once(database: Database) -> int:
    """Applies every change due now, a batch per transaction; returns how many."""
    handled = 0
    while True:
        with database.write() as session:
            count = service.apply_due(session, now=utcnow(), limit=BATCH)
        handled += count
        if count < BATCH:
            return handled


def run_forever(database: Database, *, interval: float, stop: threading.Event) -> None:
    """Polls every `interval` seconds until `stop` is set. Run as many as you like."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            applied = run_once(database)
            if applied:
                log.info("applied %d scheduled change(s)", applied)
        except Exception:  # keep polling: one bad round must not stop the worker
            log.exception("worker round failed")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
