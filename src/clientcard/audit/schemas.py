from __future__ import annotations

import datetime as dt
from typing import Any

from clientcard.schemas import ReadModel


class HistoryEntryRead(ReadModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: int
    changes: dict[str, dict[str, Any]]
    origin: str
