"""Group commit for webhook intake: deliveries that arrive together are stored by a writer thread in
one transaction, so the event loop never blocks on the database and a burst costs one commit, not one each.

A delivery is acknowledged only after the transaction holding it committed; if that transaction
fails, each delivery in it is retried on its own, so one bad row cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import queue as threadqueue
import threading
import time

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from bot.service.queue import DeliveryRecord, write_deliveries

log = logging.getLogger("prompt_review.web")

MAX_BATCH = 256
IDLE_SECONDS = 5.0  # the writer thread exits when idle and starts again with the next delivery


class DeliveryWriter:
    """Stores deliveries through one writer thread, in arrival order, a batch per transaction.

    One thread, also on PostgreSQL: a batch costs a few round trips whatever its size (each kind of
    change is one statement reading its rows from one JSON document), so one lane with big batches took more deliveries/s than 2 or 4 lanes with small ones
    (bench/webhook_load.py: 4.0k vs 3.6k vs 2.6k/s). Other web processes storing the same PR at the
    same moment are ordered by advisory locks in the transaction (queue.write_deliveries)."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH, linger_seconds: float = 0.0):
        # linger: how long to wait for company after the first delivery of a batch. 0 adds no latency:
        # under load, deliveries pile up while the previous batch commits and are batched anyway.
        self._engine = engine
        self._max_batch = max_batch
        self._linger = linger_seconds
        self._pending: threadqueue.SimpleQueue = threadqueue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: Connection | None = None  # the writer thread's own, kept between batches

    async def store(self, record: DeliveryRecord) -> bool:
        """True when stored now, False for a delivery seen before; raises SQLAlchemyError when it could not be stored."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        self._pending.put((record, loop, done))
        if self._thread is None:  # started after the put: an idle thread exiting now has seen the queue empty
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="delivery-writer", daemon=True)
                    self._thread.start()
        return await asyncio.shield(done)  # a client hanging up must not cancel a write already queued

    def busy(self) -> bool:
        """Deliveries are waiting for the writer: the web is taking more than one at a time."""
        return not self._pending.empty()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._pending.get(timeout=IDLE_SECONDS)]
            except threadqueue.Empty:
                with self._lock:
                    if self._pending.empty():
                        self._thread = None
                        self._disconnect()
                        return
                continue
            deadline = time.monotonic() + self._linger
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._pending.get(timeout=max(0.0, deadline - time.monotonic())) if self._linger
                                 else self._pending.get_nowait())
                except threadqueue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list) -> None:
        try:
            outcomes: list = self._store([record for record, _, _ in batch])
        except OperationalError as exc:  # the database is unreachable: every delivery in the batch gets a 503
            outcomes = [exc] * len(batch)
        except Exception as exc:  # one bad row must not fail its neighbours: store them one by one
            if len(batch) > 1:
                log.warning("a batch of %d deliveries failed (%s); storing them one by one", len(batch), type(exc).__name__)
                for item in batch:
                    self._write([item])
                return
            if not isinstance(exc, SQLAlchemyError):
                log.exception("delivery writer failed")
            outcomes = [exc]
        for (_, loop, done), outcome in zip(batch, outcomes):
            try:
                loop.call_soon_threadsafe(_settle, done, outcome)
            except RuntimeError:  # that request's event loop is gone (server shutting down)
                pass

    def _store(self, records: list[DeliveryRecord]) -> list[bool]:
        """write_deliveries in one transaction on the writer's own connection: a batch costs no pool
        checkout (nor its liveness ping, a round trip). A connection the database dropped (a restart)
        is replaced and the batch written once more — safe, as a delivery already stored counts as seen."""
        try:
            return self._transaction(records)
        except DBAPIError:
            if self._conn is not None:  # the connection is fine: the batch itself failed
                raise
        return self._transaction(records)

    def _transaction(self, records: list[DeliveryRecord]) -> list[bool]:
        if self._conn is None:
            self._conn = self._engine.connect()
        try:
            with self._conn.begin():
                return write_deliveries(self._conn, records)
        except DBAPIError as exc:
            if exc.connection_invalidated or self._conn.invalidated:
                self._disconnect()
            raise

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except SQLAlchemyError:
                log.debug("closing the writer's connection failed", exc_info=True)


def _settle(done: asyncio.Future, outcome) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
