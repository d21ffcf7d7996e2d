"""telemetry rollups per (repo, prompt, version, model, label, arm, minute); guarded rollouts

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bot.service.db import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'telemetry_rollups',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('path', sa.String(1000), nullable=False),
        sa.Column('version', sa.String(64), nullable=False),
        sa.Column('model', sa.String(200), nullable=False),
        sa.Column('label', sa.String(63), nullable=False),
        sa.Column('arm', sa.String(20), nullable=False),
        sa.Column('minute', UTCDateTime(), nullable=False),
        sa.Column('calls', sa.BigInteger(), nullable=False),
        sa.Column('errors', sa.BigInteger(), nullable=False),
        sa.Column('latency_n', sa.BigInteger(), nullable=False),
        sa.Column('latency_sum', sa.Float(), nullable=False),
        sa.Column('latency_sumsq', sa.Float(), nullable=False),
        sa.Column('latency_hist', sa.JSON(), nullable=False),
        sa.Column('tokens_in', sa.BigInteger(), nullable=False),
        sa.Column('tokens_out', sa.BigInteger(), nullable=False),
        sa.Column('cost_usd', sa.Float(), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('fingerprints', sa.JSON(), nullable=False),
        sa.UniqueConstraint('repo', 'path', 'version', 'model', 'label', 'arm', 'minute',
                            name='uq_telemetry_rollups_series_minute'),
    )
    op.create_index('ix_telemetry_rollups_repo_label_path', 'telemetry_rollups', ['repo', 'label', 'path', 'minute'])
    op.create_table(
        'rollouts',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('label', sa.String(63), nullable=False),
        sa.Column('commit_sha', sa.String(64), nullable=False),
        sa.Column('state', sa.String(20), nullable=False),
        sa.Column('percent', sa.Float(), nullable=False),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('interval_seconds', sa.Float(), nullable=False),
        sa.Column('moves', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(200), nullable=False),
        sa.Column('pr', sa.Integer(), nullable=True),
        sa.Column('p_values', sa.JSON(), nullable=False),
        sa.Column('last_decision', sa.Text(), nullable=True),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('step_started_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_rollouts_repo_label_state', 'rollouts', ['repo', 'label', 'state'])
    op.create_index('ix_rollouts_state', 'rollouts', ['state'])


def downgrade() -> None:
    op.drop_index('ix_rollouts_state', table_name='rollouts')
    op.drop_index('ix_rollouts_repo_label_state', table_name='rollouts')
    op.drop_table('rollouts')
    op.drop_index('ix_telemetry_rollups_repo_label_path', table_name='telemetry_rollups')
    op.drop_table('telemetry_rollups')
