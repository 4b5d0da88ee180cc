"""Reminder rules: the defaults, and which rules apply to a task.

Defaults follow common practice (and the issue that asked for them):
- 3 working days before the due date: the owner, by SMS (and in-app);
- 1 working day before: the leaver's manager / department head, by email (in the digest);
- every working day overdue: the owner, and the manager (in the digest);
- 3 working days overdue: the HRBP, once, by email with the unfinished-items report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from baton.notify.models import Audience, Family, Mode, ReminderRule, Repeat

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "offset": -3,
        "repeat": Repeat.ONCE,
        "audience": Audience.OWNER,
        "channels": [Family.SMS, Family.INAPP],
        "mode": Mode.IMMEDIATE,
    },
    {
        "offset": -1,
        "repeat": Repeat.ONCE,
        "audience": Audience.MANAGER,
        "channels": [Family.EMAIL, Family.INAPP],
        "mode": Mode.DIGEST,
    },
    {
        "offset": 1,
        "repeat": Repeat.DAILY,
        "audience": Audience.OWNER,
        "channels": [Family.SMS, Family.EMAIL, Family.INAPP],
        "mode": Mode.IMMEDIATE,
    },
    {
        "offset": 1,
        "repeat": Repeat.DAILY,
        "audience": Audience.MANAGER,
        "channels": [Family.EMAIL, Family.INAPP],
        "mode": Mode.DIGEST,
    },
    {
        "offset": 3,
        "repeat": Repeat.ONCE,
        "audience": Audience.HRBP,
        "channels": [Family.EMAIL, Family.IM, Family.INAPP],
        "mode": Mode.IMMEDIATE,
        "escalation": True,
    },
]


@dataclass(frozen=True)
class Rule:
    """A rule as the planner uses it (plain data, loaded once per sweep)."""

    id: int
    offset: int
    repeat: str
    audience: str
    channels: tuple[str, ...]
    mode: str
    escalation: bool


class RuleBook:
    """All active rules, indexed so a task's rules are two dictionary look-ups."""

    def __init__(self, rules: list[ReminderRule]) -> None:
        self.by_item: dict[tuple[int, str], list[Rule]] = defaultdict(list)
        self.by_template: dict[int, list[Rule]] = defaultdict(list)
        self.defaults: list[Rule] = []
        for r in rules:
            rule = Rule(
                r.pk,
                r.offset,
                r.repeat,
                r.audience,
                tuple(r.channels),
                r.mode,
                r.escalation,
            )
            if r.template_id and r.item_key:
                self.by_item[(r.template_id, r.item_key)].append(rule)
            elif r.template_id:
                self.by_template[r.template_id].append(rule)
            else:
                self.defaults.append(rule)

    @classmethod
    def load(cls) -> RuleBook:
        return cls(list(ReminderRule.objects.filter(is_active=True)))

    def for_task(self, template_id: int | None, key: str) -> list[Rule]:
        if template_id:
            found = self.by_item.get((template_id, key)) or self.by_template.get(template_id)
            if found:
                return found
        return self.defaults

    def all(self) -> list[Rule]:
        out = list(self.defaults)
        for rules in (*self.by_item.values(), *self.by_template.values()):
            out.extend(rules)
        return out
