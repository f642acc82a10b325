"""jobs: progress time and run claims of conversions and recording builds, and the job
that made each minutes document (a job re-run makes no second draft)

Revision ID: jobs01
Revises: security01
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetings.db

revision = 'jobs01'
down_revision = 'security01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document_versions') as batch:
        batch.add_column(sa.Column('progress_at', meetings.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('recordings') as batch:
        batch.add_column(sa.Column('progress_at', meetings.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('build_token', sa.String(length=32), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('build_runs', sa.Integer(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('minutes_documents') as batch:
        batch.add_column(sa.Column('job_id', sa.String(length=32), nullable=True))
        batch.create_unique_constraint('uq_minutes_documents_job_id', ['job_id'])


def downgrade() -> None:
    with op.batch_alter_table('minutes_documents') as batch:
        batch.drop_constraint('uq_minutes_documents_job_id', type_='unique')
        batch.drop_column('job_id')
    with op.batch_alter_table('recordings') as batch:
        batch.drop_column('build_runs')
        batch.drop_column('build_token')
        batch.drop_column('progress_at')
    with op.batch_alter_table('document_versions') as batch:
        batch.drop_column('attempts')
        batch.drop_column('progress_at')
