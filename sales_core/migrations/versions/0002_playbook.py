"""The playbook's tables (sales_core/playbook.py): plays and their change log.

Created only when missing: sales_core.playbook.ensure_playbook also runs
`metadata.create_all`, so a store may have them already.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TEXT_COLUMNS = (
    "title_zh", "title_en", "body_zh", "body_en", "steps_zh", "steps_en",
    "template_zh", "template_en",
)  # fmt: skip


def upgrade() -> None:
    existing = sa.inspect(op.get_bind())
    if not existing.has_table("plays"):
        op.create_table(
            "plays",
            sa.Column("play_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("key", sa.String(120), nullable=False, unique=True),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("customer_type", sa.String(64)),
            sa.Column("stages", sa.Text, nullable=False),
            sa.Column("tags", sa.Text, nullable=False),
            sa.Column("keywords", sa.Text, nullable=False),
            *(sa.Column(name, sa.Text) for name in TEXT_COLUMNS),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.Column("updated_by", sa.Text, nullable=False),
            sa.Column("retired_at", sa.DateTime),
            sa.Column("retired_by", sa.Text),
            **MYSQL_TABLE,
        )
    if not existing.has_table("play_changes"):
        op.create_table(
            "play_changes",
            sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "play_id", sa.Integer, sa.ForeignKey("plays.play_id"), nullable=False
            ),
            sa.Column("play_key", sa.String(120), nullable=False),
            sa.Column("action", sa.String(16), nullable=False),
            sa.Column("changed_by", sa.Text, nullable=False),
            sa.Column("changed_at", sa.DateTime, nullable=False),
            sa.Column("changes", sa.Text, nullable=False),
            sa.Column("note", sa.Text),
            **MYSQL_TABLE,
        )
        op.create_index("ix_play_changes_play", "play_changes", ["play_id"])


def downgrade() -> None:
    op.drop_table("play_changes")
    op.drop_table("plays")
