"""Ids are never reused on SQLite: the highest id deleted from each table is remembered

SQLite numbers a row past the table's highest id, so deleting the highest row handed its id
to the next one. `id_high_water` keeps, per table, the highest id ever deleted (an AFTER
DELETE trigger per table, firing only when the row deleted was the highest), and new ids
come after both (`clientcard.db.bulk.reserve_ids`). PostgreSQL's sequences never go back:
nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables with a generated id at this revision.
TABLES = (
    "accounts",
    "api_tokens",
    "attachments",
    "audit_entries",
    "campaign_records",
    "campaigns",
    "case_comments",
    "case_notes",
    "cases",
    "contact_points",
    "custom_fields",
    "custom_group_records",
    "customer_notes",
    "customer_relations",
    "customers",
    "interactions",
    "scheduled_changes",
    "users",
)


def _embedded() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _embedded():
        return
    op.execute(
        "CREATE TABLE id_high_water (table_name TEXT PRIMARY KEY, id INTEGER NOT NULL)"
        " WITHOUT ROWID"
    )
    for table in TABLES:
        op.execute(
            f"""CREATE TRIGGER {table}_id_high_water AFTER DELETE ON {table}
            WHEN old.id > coalesce((SELECT max(id) FROM {table}), 0)
            BEGIN
                INSERT INTO id_high_water (table_name, id) VALUES ('{table}', old.id)
                ON CONFLICT (table_name) DO UPDATE SET id = max(id, excluded.id);
            END"""
        )


def downgrade() -> None:
    if not _embedded():
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_id_high_water")
    op.execute("DROP TABLE IF EXISTS id_high_water")
