"""job indexes that keep intake and claims independent of queue depth

Revision ID: 0002
Revises: 0001

Without statistics SQLite chose the (state, available_at) index for "is the same work already
queued for this PR?", scanning every queued job: intake slowed in proportion to the backlog.
(key, state) answers it from the PR's own rows; (state, id) lets a claim walk queued jobs oldest
first and stop at the first runnable one instead of sorting the whole backlog.
"""

from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_key')
        batch_op.drop_index('ix_jobs_state_available')
        batch_op.create_index('ix_jobs_key_state', ['key', 'state'], unique=False)
        batch_op.create_index('ix_jobs_state_id', ['state', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_id')
        batch_op.drop_index('ix_jobs_key_state')
        batch_op.create_index('ix_jobs_state_available', ['state', 'available_at'], unique=False)
        batch_op.create_index('ix_jobs_key', ['key'], unique=False)
