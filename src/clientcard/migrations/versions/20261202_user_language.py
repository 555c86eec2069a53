"""One language setting per user: users.language is folded into users.locale

Users had two: `language` (set by administrators, default 'en', read by nothing) and
`locale` (the interface language the user chose; empty: follow the browser). `locale` stays.
A language that only `language` held is carried over; a user who chose a `locale` keeps it.
`language = 'en'` beside an empty `locale` is the column's default, not a choice anybody
can be shown to have made, and English is also the interface's fallback: such users keep
following their browser, as they did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE users SET locale = language "
        "WHERE locale IS NULL AND language IS NOT NULL AND language <> '' AND language <> 'en'"
    )
    op.drop_column("users", "language")


def downgrade() -> None:
    op.add_column(
        "users",
        sa.Column("language", sa.String(length=10), nullable=False, server_default="en"),
    )
    op.execute("UPDATE users SET language = locale WHERE locale IS NOT NULL")
