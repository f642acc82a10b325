"""rosters per endpoint, speaker and gist per floor turn, vote base and rule, document
signer and authority, signing profiles

Revision ID: minutes02
Revises: recording01
Create Date: 2026-11-29 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meetings.db

revision = 'minutes02'
down_revision = 'recording01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'roster_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('position', sa.String(length=300), nullable=False),
        sa.Column('is_leader', sa.Boolean(), nullable=False),
        sa.Column('present', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('ordinal', sa.Integer(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', meetings.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('meeting_id', 'user_id'),
    )
    op.create_index(op.f('ix_roster_entries_meeting_id'), 'roster_entries', ['meeting_id'])
    op.create_index(op.f('ix_roster_entries_endpoint_id'), 'roster_entries', ['endpoint_id'])
    op.create_table(
        'signing_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('pkcs12_path', sa.String(length=500), nullable=False),
        sa.Column('passphrase', sa.String(length=200), nullable=False),
        sa.Column('image_path', sa.String(length=500), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', meetings.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
        sa.UniqueConstraint('unit_id'),
    )
    with op.batch_alter_table('floor_turns') as batch:
        batch.add_column(sa.Column('speaker_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('gist', sa.Text(), nullable=False, server_default=''))
        batch.create_foreign_key('fk_floor_turns_speaker_id', 'roster_entries',
                                 ['speaker_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('votes') as batch:
        batch.add_column(sa.Column('base', sa.String(length=10), nullable=False,
                                   server_default='present'))
        batch.add_column(sa.Column('rule', sa.String(length=12), nullable=False,
                                   server_default='majority'))
        batch.add_column(sa.Column('base_count', sa.Integer(), nullable=True))
    with op.batch_alter_table('minutes_documents') as batch:
        batch.add_column(sa.Column('signer_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('signer_authority', sa.String(length=8), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('signer_principal', sa.String(length=200), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('signer_title', sa.String(length=200), nullable=False,
                                   server_default=''))
        batch.create_foreign_key('fk_minutes_documents_signer_id', 'users', ['signer_id'],
                                 ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('minutes_documents') as batch:
        batch.drop_constraint('fk_minutes_documents_signer_id', type_='foreignkey')
        for name in ('signer_title', 'signer_principal', 'signer_authority', 'signer_id'):
            batch.drop_column(name)
    with op.batch_alter_table('votes') as batch:
        for name in ('base_count', 'rule', 'base'):
            batch.drop_column(name)
    with op.batch_alter_table('floor_turns') as batch:
        batch.drop_constraint('fk_floor_turns_speaker_id', type_='foreignkey')
        batch.drop_column('gist')
        batch.drop_column('speaker_id')
    op.drop_table('signing_profiles')
    op.drop_index(op.f('ix_roster_entries_endpoint_id'), table_name='roster_entries')
    op.drop_index(op.f('ix_roster_entries_meeting_id'), table_name='roster_entries')
    op.drop_table('roster_entries')
