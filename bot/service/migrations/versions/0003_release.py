"""release half: prompt versions, label pointers, deployments and their moves, repo tokens, blob cache

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bot.service.db import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prompt_versions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('path', sa.String(1000), nullable=False),
        sa.Column('version', sa.String(64), nullable=False),
        sa.Column('commit_sha', sa.String(64), nullable=False),
        sa.Column('author', sa.String(200), nullable=True),
        sa.Column('committed_at', UTCDateTime(), nullable=True),
        sa.Column('pr', sa.Integer(), nullable=True),
        sa.Column('pr_head_sha', sa.String(64), nullable=True),
        sa.Column('evals', sa.String(40), nullable=True),
        sa.Column('approval', sa.String(40), nullable=True),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('repo', 'path', 'commit_sha', name='uq_prompt_versions_repo_path_commit'),
    )
    op.create_index('ix_prompt_versions_repo_version', 'prompt_versions', ['repo', 'version'])
    op.create_table(
        'label_pointers',
        sa.Column('repo', sa.String(300), primary_key=True),
        sa.Column('label', sa.String(63), primary_key=True),
        sa.Column('path', sa.String(1000), primary_key=True),
        sa.Column('version', sa.String(64), nullable=False),
        sa.Column('deployment_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'deployments',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('label', sa.String(63), nullable=False),
        sa.Column('commit_sha', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('actor', sa.String(200), nullable=False),
        sa.Column('via', sa.String(20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('override', sa.Boolean(), nullable=False),
        sa.Column('blocked', sa.JSON(), nullable=False),
        sa.Column('reverts', sa.Integer(), nullable=True),
        sa.Column('rolled_back_by', sa.Integer(), nullable=True),
        sa.Column('pr', sa.Integer(), nullable=True),
        sa.Column('github_deployment_id', sa.BigInteger(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_deployments_repo_label', 'deployments', ['repo', 'label', 'id'])
    op.create_table(
        'label_moves',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('deployment_id', sa.Integer(), nullable=False),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('label', sa.String(63), nullable=False),
        sa.Column('path', sa.String(1000), nullable=False),
        sa.Column('from_version', sa.String(64), nullable=True),
        sa.Column('to_version', sa.String(64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_label_moves_repo_label', 'label_moves', ['repo', 'label'])
    op.create_table(
        'repo_tokens',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('repo', sa.String(300), nullable=False),
        sa.Column('scope', sa.String(10), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('hint', sa.String(20), nullable=False),
        sa.Column('created_by', sa.String(200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(200), nullable=True),
        sa.UniqueConstraint('token_hash', name='uq_repo_tokens_token_hash'),
    )
    op.create_table(
        'blob_contents',
        sa.Column('repo', sa.String(300), primary_key=True),
        sa.Column('sha', sa.String(64), primary_key=True),
        sa.Column('content', sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('blob_contents')
    op.drop_table('repo_tokens')
    op.drop_index('ix_label_moves_repo_label', table_name='label_moves')
    op.drop_table('label_moves')
    op.drop_index('ix_deployments_repo_label', table_name='deployments')
    op.drop_table('deployments')
    op.drop_table('label_pointers')
    op.drop_index('ix_prompt_versions_repo_version', table_name='prompt_versions')
    op.drop_table('prompt_versions')
