"""an index (repo, path, minute) on the hour and day rollups: the history pages ask for one prompt's rows
over a time range across all its labels and arms, which the (repo, label, path, minute) index cannot seek

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('telemetry_rollups_hour', 'telemetry_rollups_day')


def upgrade() -> None:
    for name in TABLES:
        op.create_index(f'ix_{name}_repo_path_minute', name, ['repo', 'path', 'minute'])


def downgrade() -> None:
    for name in TABLES:
        op.drop_index(f'ix_{name}_repo_path_minute', table_name=name)
