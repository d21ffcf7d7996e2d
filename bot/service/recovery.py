"""Downtime recovery: ask GitHub for the App's failed deliveries and have them redelivered.

Remembers the newest delivery id it has looked at, so each pass only reads what is new.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.github.client import GitHubApp
from bot.service.db import Delivery, KeyValue

log = logging.getLogger("prompt_review.recovery")
_STATE = "redelivery"


def redeliver_failed(app: GitHubApp, engine: Engine, max_pages: int = 10) -> int:
    with Session(engine) as session:
        row = session.get(KeyValue, _STATE)
        seen_up_to = int((row.value or {}).get("last_id", 0)) if row else 0
    newest, cursor, asked = seen_up_to, None, 0
    failed: dict[str, dict] = {}
    ok_guids: set[str] = set()
    for _ in range(max_pages):
        items, cursor = app.list_deliveries(cursor=cursor)
        stop = False
        for d in items:
            if d["id"] <= seen_up_to:
                stop = True
                break
            newest = max(newest, d["id"])
            if 200 <= (d.get("status_code") or 0) < 300:
                ok_guids.add(d["guid"])
            else:
                failed.setdefault(d["guid"], d)  # newest attempt first
        if stop or not cursor:
            break
    guids = [g for g in failed if g not in ok_guids]
    if guids:
        with Session(engine) as session:
            stored = set(session.scalars(select(Delivery.delivery_id).where(Delivery.delivery_id.in_(guids))))
        for guid in guids:
            if guid in stored:
                continue
            try:
                app.redeliver(failed[guid]["id"])
                asked += 1
            except Exception as exc:
                log.warning("redelivery of %s failed: %s", guid, exc)
    with Session(engine) as session, session.begin():
        row = session.get(KeyValue, _STATE)
        if row is None:
            session.add(KeyValue(name=_STATE, value={"last_id": newest}))
        else:
            row.value = {"last_id": newest}
    if asked:
        log.info("asked GitHub to redeliver %d failed deliveries", asked)
    return asked
