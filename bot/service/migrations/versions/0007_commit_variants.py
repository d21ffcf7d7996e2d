"""commit_variants: the per-model variant groups of the suites at a deployed commit, in their own table
(they were kept among the blob contents under a `variants:` key, which no release used yet)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'commit_variants',
        sa.Column('repo', sa.String(300), primary_key=True),
        sa.Column('commit', sa.String(64), primary_key=True),
        sa.Column('groups', sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('commit_variants')
