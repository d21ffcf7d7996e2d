"""telemetry rollups per hour and per day (same columns as telemetry_rollups; `minute` holds the start of
the hour / the day, UTC), backfilled from the minute rollups already stored; rollouts.directions (which
way each metric gets better for the guard, from the repo config when the rollout started)

Revision ID: 0005
Revises: 0004

The backfill is part of the migration's transaction: on PostgreSQL the minute table is locked against
writers (readers go on) until the migration commits, so a replica still running the old code cannot add
minutes that the hour and day rows would miss; SQLite has one writer at a time anyway. Running it again
(a downgrade then an upgrade) rebuilds the same rows from the minutes. It reads the minutes in series
order, so it holds one hour and one day per series in memory, however many rows there are.
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from bot.service.db import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

LEVELS = ('hour', 'day')
SERIES = ('repo', 'path', 'version', 'model', 'label', 'arm')
COUNTERS = ('calls', 'errors', 'latency_n', 'latency_sum', 'latency_sumsq', 'tokens_in', 'tokens_out', 'cost_usd')
MAX_FINGERPRINTS = 8
CHUNK = 1000


def _columns() -> list:
    return [
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
    ]


def upgrade() -> None:
    for level in LEVELS:
        name = f'telemetry_rollups_{level}'
        op.create_table(name, *_columns(),
                        sa.UniqueConstraint(*SERIES, 'minute', name=f'uq_{name}_series_minute'))
        op.create_index(f'ix_{name}_repo_label_path', name, ['repo', 'label', 'path', 'minute'])
    op.add_column('rollouts', sa.Column('directions', sa.JSON(), nullable=True))
    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('rollouts') as batch:  # SQLite: drop a column by copying the table
        batch.drop_column('directions')
    for level in LEVELS:
        name = f'telemetry_rollups_{level}'
        op.drop_index(f'ix_{name}_repo_label_path', table_name=name)
        op.drop_table(name)


def _floor(t: datetime, level: str) -> datetime:
    t = t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
    t = t.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if level == 'day' else t


def _add(into: dict, row) -> None:
    for c in COUNTERS:
        into[c] += getattr(row, c)
    hist, mine = row.latency_hist or [], into['latency_hist']
    mine = mine + [0] * (len(hist) - len(mine))  # the first row of a bucket sets the length
    into['latency_hist'] = [a + b for a, b in zip(mine, hist)] + mine[len(hist):]
    for name, s in (row.scores or {}).items():
        cur = into['scores'].get(name)
        if cur is None:
            into['scores'][name] = {'n': s['n'], 'sum': s['sum'], 'sumsq': s['sumsq'], 'hist': list(s['hist'])}
        else:
            cur['n'] += s['n']
            cur['sum'] += s['sum']
            cur['sumsq'] += s['sumsq']
            cur['hist'] = [a + b for a, b in zip(cur['hist'], s['hist'])]
    seen = set(into['fingerprints']) | set(row.fingerprints or [])
    into['fingerprints'] = sorted(seen)[:MAX_FINGERPRINTS]


def backfill(bind) -> None:
    """Hour and day rows from the minute rows: what ingestion would have written had it written all three."""
    meta = sa.MetaData()
    minutes = sa.Table('telemetry_rollups', meta, *_columns())
    targets = {level: sa.Table(f'telemetry_rollups_{level}', meta, *_columns()) for level in LEVELS}
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text('LOCK TABLE telemetry_rollups IN EXCLUSIVE MODE'))
    for table in targets.values():
        bind.execute(table.delete())
    pending: dict[str, list] = {level: [] for level in LEVELS}
    current: dict[str, tuple | None] = {level: None for level in LEVELS}
    sums: dict[str, dict] = {}

    def emit(level: str) -> None:
        key = current[level]
        if key is not None:
            pending[level].append({**dict(zip((*SERIES, 'minute'), key)), **sums[level]})
            if len(pending[level]) >= CHUNK:
                bind.execute(targets[level].insert(), pending[level])
                pending[level] = []

    order = [minutes.c[c] for c in SERIES] + [minutes.c.minute]
    rows = bind.execute(sa.select(minutes).order_by(*order).execution_options(stream_results=True, yield_per=CHUNK))
    for row in rows:
        series = tuple(getattr(row, c) for c in SERIES)
        for level in LEVELS:
            key = (*series, _floor(row.minute, level))
            if key != current[level]:
                emit(level)
                current[level] = key
                sums[level] = {**{c: 0 for c in COUNTERS}, 'latency_hist': [], 'scores': {}, 'fingerprints': []}
            _add(sums[level], row)
    for level in LEVELS:
        emit(level)
        if pending[level]:
            bind.execute(targets[level].insert(), pending[level])
