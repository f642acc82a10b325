"""users: session version (sessions end on logout, password change, deactivation) and
lockout after repeated failed logins

Revision ID: security01
Revises: minutes02
Create Date: 2026-11-29 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetings.db

revision = 'security01'
down_revision = 'minutes02'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('locked_until', meetings.db.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('locked_until')
        batch.drop_column('failed_logins')
        batch.drop_column('session_version')
