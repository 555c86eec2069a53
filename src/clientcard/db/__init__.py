"""The database layer: the only code that knows which database it runs on.

- `engine.py`  engines, SQLite's pragmas and its background checkpoints (`Checkpointer`)
- `work.py`    units of work (`Database.read()` / `Database.write()`) and `after_commit`
- `bulk.py`    bulk inserts (`insert_many`) and the ids of new rows (`reserve_ids`): ids
               are never reused, on either database
- `locks.py`   locks and upserts asked for by name (`lock_keys`, `lock_rows`,
               `insert_or_ignore`)
- `search.py`  search operators (`words_starting_with`, `digits_within`, `json_list_holds`)
- `types.py`   column types and partial indexes that differ by database
- `fastread.py` the screen pop's fast read path: `fetch_all`, the asyncpg pool, statements
               compiled once, and the coalescer (`coalesce.py`)
- `notify.py`  messages between the processes of one database (LISTEN/NOTIFY)

Nothing outside this package names a dialect (docs/architecture.md).
"""

from clientcard.db.bulk import insert_many, reserve_ids
from clientcard.db.engine import Checkpointer, make_engine
from clientcard.db.work import Database, after_commit, database_of

__all__ = [
    "Checkpointer",
    "Database",
    "after_commit",
    "database_of",
    "insert_many",
    "make_engine",
    "reserve_ids",
]
