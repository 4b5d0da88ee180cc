"""People recorded more than once: the same person with records in several business units (or
twice in one), found by their ID card number's lookup hash (strong evidence), their mobile
phone number or their email address. HR reviews each group and merges the records
(`baton.org.actions_merge`); imports call `existing_matches` to warn about a person a file
brings in who already exists elsewhere in the group.

Everything here is set-based: a GROUP BY per kind of evidence and one query for the people in
the groups, whatever the size of the group.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.expressions import Case, Combinable, When
from django.db.models.functions import Length, Lower, Replace, Substr
from django.db.models.lookups import Exact, StartsWith
from django.utils.translation import gettext_lazy

from baton.access import authz
from baton.access.authz import Perm
from baton.org.models import Employee

ID_NUMBER, PHONE, EMAIL = "id_number", "phone", "email"
REASON_LABELS = {
    ID_NUMBER: gettext_lazy("same ID card number"),
    PHONE: gettext_lazy("same mobile phone"),
    EMAIL: gettext_lazy("same email"),
}
# Separators people type inside phone numbers; the SQL form strips these, the Python form
# strips every non-digit (identical for everything but exotic input such as "ext. 12").
_PHONE_SEPARATORS = (" ", "-", "+", "(", ")", ".", "\u3000")


def normal_phone(text: str) -> str:
    """A mobile number as digits only, without the country code 86 (+86 / 0086):
    '+86 138-0013-8000' and '13800138000' are the same number."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text or ""))
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    return digits


def normal_email(text: str) -> str:
    return (text or "").strip().lower()


def normal_phone_expr(field_name: str = "phone") -> Combinable:
    """`normal_phone` as an SQL expression over a column (SQLite and PostgreSQL alike)."""
    stripped: Any = F(field_name)
    for ch in _PHONE_SEPARATORS:
        stripped = Replace(stripped, Value(ch), Value(""))
    return Case(
        When(
            Q(Exact(Length(stripped), 15), StartsWith(stripped, "0086")),
            then=Substr(stripped, 5),
        ),
        When(Q(Exact(Length(stripped), 13), StartsWith(stripped, "86")), then=Substr(stripped, 3)),
        default=stripped,
    )


@dataclass
class DuplicateGroup:
    """Records that look like one person, and why."""

    reasons: list[str]
    employee_ids: list[int]
    employees: list[Employee] = field(default_factory=list, repr=False)

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS[r]) for r in self.reasons]

    @property
    def business_unit_ids(self) -> set[int]:
        return {e.business_unit_id for e in self.employees}


def keyed(qs: QuerySet[Employee]) -> QuerySet[Any]:
    """With the normalized phone and email as `_phone` and `_email`."""
    return qs.annotate(_phone=normal_phone_expr(), _email=Lower("email"))


def _repeated(qs: QuerySet[Any], column: str, limit: int) -> list[str]:
    """Values of `column` held by more than one row of `qs` (GROUP BY … HAVING count > 1)."""
    return list(
        qs.exclude(**{column: ""})
        .values(column)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by(column)
        .values_list(column, flat=True)[:limit]
    )


def find_duplicates(user: Any, *, limit: int = 200) -> list[DuplicateGroup]:
    """Groups of records (not yet merged) the user may see that share an ID card number, a
    mobile phone or an email. A BU's HR sees the groups within their BU; group HR sees the
    ones across BUs. Four queries, whatever the number of employees."""
    visible = keyed(
        authz.visible_to(
            user, Perm.EMPLOYEE_VIEW, Employee.objects.filter(merged_into__isnull=True)
        )
    )
    hashes = _repeated(visible, "id_number_hash", limit)
    phones = _repeated(visible, "_phone", limit)
    emails = _repeated(visible, "_email", limit)
    if not (hashes or phones or emails):
        return []
    members = list(
        visible.filter(
            Q(id_number_hash__in=hashes) | Q(_phone__in=phones) | Q(_email__in=emails)
        ).select_related("business_unit", "department", "position")
    )
    wanted = {ID_NUMBER: set(hashes), PHONE: set(phones), EMAIL: set(emails)}
    groups = _group(members, wanted)
    # Strong evidence first, then the order of the records' numbers.
    groups.sort(key=lambda g: (ID_NUMBER not in g.reasons, g.employees[0].employee_number))
    return groups[:limit]


def _keys_of(e: Any, wanted: dict[str, set[str]]) -> Iterable[tuple[str, str]]:
    for reason, value in ((ID_NUMBER, e.id_number_hash), (PHONE, e._phone), (EMAIL, e._email)):
        if value and value in wanted[reason]:
            yield reason, value


def _group(members: list[Any], wanted: dict[str, set[str]]) -> list[DuplicateGroup]:
    """Join records sharing any key (union-find): A=B by phone and B=C by email is one group."""
    parent = {e.pk: e.pk for e in members}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in members:
        for key in _keys_of(e, wanted):
            holders[key].append(e.pk)
    for pks in holders.values():
        for pk in pks[1:]:
            parent[root(pk)] = root(pks[0])
    reasons: dict[int, set[str]] = defaultdict(set)
    for (reason, _value), pks in holders.items():
        if len(pks) > 1:
            reasons[root(pks[0])].add(reason)
    by_root: dict[int, list[Any]] = defaultdict(list)
    for e in members:
        by_root[root(e.pk)].append(e)
    order = [ID_NUMBER, PHONE, EMAIL]
    groups = []
    for r, people in by_root.items():
        if len(people) < 2:
            continue
        people.sort(key=lambda e: e.employee_number)
        groups.append(
            DuplicateGroup(
                reasons=[x for x in order if x in reasons[r]],
                employee_ids=[e.pk for e in people],
                employees=people,
            )
        )
    return groups


def existing_matches(
    group_id: int, id_hashes: set[str], phones: set[str], emails: set[str]
) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Which existing (unmerged) employees of the group hold any of these ID-number hashes,
    phones or emails — one query for a whole chunk of an import. Keys are ('id', hash),
    ('phone', normal_phone(value)) and ('email', normal_email(value)); values are
    [(employee_id, business_unit_id)]. The caller decides which matches are in another BU."""
    phones = {p for p in (normal_phone(x) for x in phones) if p}
    emails = {m for m in (normal_email(x) for x in emails) if m}
    hashes = {h for h in id_hashes if h}
    if not (hashes or phones or emails):
        return {}
    q = Q(pk__in=[])
    if hashes:
        q |= Q(id_number_hash__in=hashes)
    if phones:
        q |= Q(_phone__in=phones)
    if emails:
        q |= Q(_email__in=emails)
    rows = (
        keyed(Employee.objects.filter(group_id=group_id, merged_into__isnull=True))
        .filter(q)
        .order_by("pk")
        .values_list("pk", "business_unit_id", "id_number_hash", "_phone", "_email")
    )
    found: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for pk, bu, id_hash, phone, email in rows:
        if id_hash and id_hash in hashes:
            found[("id", id_hash)].append((pk, bu))
        if phone and phone in phones:
            found[("phone", phone)].append((pk, bu))
        if email and email in emails:
            found[("email", email)].append((pk, bu))
    return dict(found)
