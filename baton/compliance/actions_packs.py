"""Shipped content, installed as audited actions: the statutory rule packs and city wage
parameters (they feed settlement amounts, so every row created or refreshed is an audit entry)
and the built-in exit-interview question bank. Run after every migrate (post_migrate, also
after a test flush) and by `baton compliance load-rules`; never from a page or API read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connections, router, transaction

from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.compliance.actions_interviews import ensure_default_bank
from baton.compliance.models.rules import CityParameter, Rule, RuleSource
from baton.compliance.rules import PACKS_DIR, read_packs


@transaction.atomic
def load_packs(directory: Path = PACKS_DIR) -> dict[str, int]:
    """Insert or refresh the shipped rows; rows an administrator edited are left alone.
    Returns counts of created / updated / unchanged / kept rows. Safe to run any number of
    times: a run that changes nothing writes no audit entry."""
    rule_rows, city_rows = read_packs(directory)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "kept_user_edits": 0}
    audited: list[trail.Change] = []

    def upsert(model: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
        row = model.objects.select_for_update().filter(**key).first()
        if row is None:
            row = model.objects.create(**key, **values)
            counts["created"] += 1
            changes = {k: (None, v) for k, v in {**key, **values}.items()}
        elif row.source == RuleSource.USER:
            counts["kept_user_edits"] += 1
            return
        else:
            before = {k: getattr(row, k) for k in values}
            changes = trail.diff(before, values)
            if not changes:
                counts["unchanged"] += 1
                return
            for k, v in values.items():
                setattr(row, k, v)
            row.save(update_fields=list(changes))
            counts["updated"] += 1
        audited.append(trail.Change(E.RULE_PACK_LOADED, row, changes))

    for r in rule_rows:
        key = {k: r[k] for k in ("rule_id", "jurisdiction", "effective_from")}
        upsert(Rule, key, {k: v for k, v in r.items() if k not in key})
    for c in city_rows:
        key = {k: c[k] for k in ("city_code", "effective_from")}
        upsert(CityParameter, key, {k: v for k, v in c.items() if k not in key})
    if audited:
        trail.record_many(audited, actor=None)
    return counts


def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate hook (apps.ready): keep the shipped packs and the built-in question bank
    installed after every migrate and after a test flush."""
    if getattr(sender, "label", None) != "compliance":
        return
    using = kwargs.get("using") or "default"
    if not router.allow_migrate_model(using, Rule):
        return
    tables = connections[using].introspection.table_names()
    if Rule._meta.db_table not in tables or CityParameter._meta.db_table not in tables:
        return  # migrated partially (another app only): loaded by the compliance migrate
    load_packs()
    ensure_default_bank()
