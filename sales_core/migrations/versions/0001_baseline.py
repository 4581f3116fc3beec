"""The store as Kongpan created it before migrations: snapshots, deals,
activities, targets, reps and mapping profiles.

Each table (with its indexes) is created only when it is missing, so a store
made by the older `metadata.create_all` is taken over as it is. Columns are
spelled out here, not read from sales_core.schema, so that this revision
stays what it was when the schema changes later.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DOUBLE, LONGTEXT

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AMOUNT = sa.Float().with_variant(DOUBLE(asdecimal=False), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(LONGTEXT(), "mysql", "mariadb")
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

DEAL_COLUMNS = (
    ("deal_id", sa.Text), ("deal_name", sa.Text), ("customer", sa.Text),
    ("owner", sa.Text), ("team", sa.Text), ("stage", sa.Text), ("amount", AMOUNT),
    ("currency", sa.Text), ("win_probability", AMOUNT), ("created_at", sa.DateTime),
    ("expected_close", sa.DateTime), ("closed_at", sa.DateTime),
    ("lost_reason", sa.Text), ("lost_at_stage", sa.Text), ("source", sa.Text),
    ("intent", sa.Text), ("industry", sa.Text), ("customer_type", sa.Text),
    ("product", sa.Text), ("next_step", sa.Text), ("next_step_due", sa.DateTime),
    ("last_touch_at", sa.DateTime), ("note", sa.Text),
)  # fmt: skip
ACTIVITY_COLUMNS = (
    ("activity_at", sa.DateTime), ("owner", sa.Text), ("customer", sa.Text),
    ("deal_id", sa.Text), ("kind", sa.Text), ("effective", sa.Boolean),
    ("summary", sa.Text), ("next_step", sa.Text), ("next_step_due", sa.DateTime),
)  # fmt: skip


def _columns(spec) -> list[sa.Column]:
    return [sa.Column(name, kind) for name, kind in spec]


def _create_missing(name: str, *columns, indexes=()) -> None:
    """Create a table and its indexes unless the store already has it."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *columns, **MYSQL_TABLE)
    for index_name, index_columns, options in indexes:
        op.create_index(index_name, name, index_columns, **options)


def upgrade() -> None:
    _create_missing(
        "snapshots",
        sa.Column("snapshot_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(80), nullable=False, unique=True),
        sa.Column("as_of", sa.Date),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.Column("imported_by", sa.Text),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("rows_imported", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("report_json", LONG_TEXT),
    )
    _create_missing(
        "deals",
        sa.Column(
            "snapshot_id",
            sa.Integer,
            sa.ForeignKey("snapshots.snapshot_id"),
            nullable=False,
        ),
        sa.Column("source_row", sa.Integer),
        *_columns(DEAL_COLUMNS),
        indexes=(
            ("ix_deals_snapshot", ["snapshot_id"], {}),
            ("ix_deals_deal", ["deal_id"], {"mysql_length": 191}),
        ),
    )
    _create_missing(
        "activities",
        sa.Column("activity_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("activity_key", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "snapshot_id",
            sa.Integer,
            sa.ForeignKey("snapshots.snapshot_id"),
            nullable=False,
        ),
        sa.Column("source_row", sa.Integer),
        *_columns(ACTIVITY_COLUMNS),
        indexes=(("ix_activities_at", ["activity_at"], {}),),
    )
    _create_missing(
        "targets",
        sa.Column("target_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.Text),
        sa.Column("team", sa.Text),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("target", AMOUNT, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.Text),
        indexes=(("ix_targets_month", ["month"], {}),),
    )
    _create_missing(
        "reps",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("team", sa.Text),
        sa.Column("supervisor", sa.Text),
        sa.Column("active", sa.Boolean),
        sa.Column("left_on", sa.DateTime),
        sa.Column("origin", sa.String(16)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    _create_missing(
        "mapping_profiles",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mapping_json", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "mapping_profiles",
        "reps",
        "targets",
        "activities",
        "deals",
        "snapshots",
    ):
        op.drop_table(name)
