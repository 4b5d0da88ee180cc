"""The demo group: three business units in three cities, people across sales, engineering,
admin and manufacturing, with contracts, agreements, history and a login for every role.

Deterministic by seed. Built with bulk inserts (100,000 people take a minute or two, not hours)
and audited as one bulk-load entry per kind of record. Besides contracts and lifecycle events the
group has pay history, yearly ratings, leave and the last two weeks of attendance, so that an
export can be imported again and compared.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from baton.access.models import Role, RoleAssignment, User
from baton.audit import trail
from baton.audit.events import AuditEvent
from baton.core.workdays import is_working_day
from baton.org.actions import number_prefix
from baton.org.models import (
    Agreement,
    AttendanceDay,
    BusinessUnit,
    City,
    CompensationChange,
    Contract,
    Department,
    Employee,
    EmployeeNumberSequence,
    Group,
    LeaveRecord,
    LegalEntity,
    LifecycleEvent,
    PerformanceRating,
    Position,
    PositionFamily,
)

DEMO_PASSWORD = "Baton-demo-2026"  # noqa: S105 — printed for the demo on purpose; not a secret
TODAY = dt.date(2026, 11, 23)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文辉鹏飞宇浩然子涵雨欣梓萱思远志强晓东海燕春梅玉兰佳怡嘉怡俊杰婷婷晨曦博文一鸣天佑"

CITIES = [
    ("SH", "上海", "Shanghai", "上海市"),
    ("SZ", "深圳", "Shenzhen", "广东省"),
    ("CD", "成都", "Chengdu", "四川省"),
    ("SU", "苏州", "Suzhou", "江苏省"),
    ("BJ", "北京", "Beijing", "北京市"),
    ("GZ", "广州", "Guangzhou", "广东省"),
]
# (code, name, head-office city, share of people, function mix)
BUSINESS_UNITS = [
    (
        "D",
        "智能终端事业部",
        "SZ",
        0.35,
        {"sales": 0.3, "engineering": 0.3, "admin": 0.1, "manufacturing": 0.3},
    ),
    ("C", "云软件事业部", "SH", 0.40, {"sales": 0.3, "engineering": 0.55, "admin": 0.15}),
    (
        "M",
        "精密制造事业部",
        "CD",
        0.25,
        {"sales": 0.15, "engineering": 0.15, "admin": 0.1, "manufacturing": 0.6},
    ),
]
ENTITIES = {
    "D": [("DSZ", "深圳华夏智能设备有限公司", "SZ", "CN")],
    "C": [
        ("CSH", "上海华夏云软件有限公司", "SH", "CN"),
        ("CBJ", "北京华夏云科技有限公司", "BJ", "CN"),
    ],
    "M": [
        ("MCD", "成都华夏精密制造有限公司", "CD", "CN"),
        ("MSU", "苏州华夏精工有限公司", "SU", "CN"),
    ],
}
FAMILIES = [
    ("sales", "销售"),
    ("engineering", "研发"),
    ("admin", "职能"),
    ("manufacturing", "生产制造"),
]
POSITIONS = {
    "sales": [
        ("SAL-REP", "销售代表"),
        ("SAL-KAM", "大客户经理"),
        ("SAL-MGR", "销售经理"),
        ("SAL-DIR", "销售总监"),
    ],
    "engineering": [
        ("ENG-SWE", "软件工程师"),
        ("ENG-SSE", "高级软件工程师"),
        ("ENG-QA", "测试工程师"),
        ("ENG-MGR", "技术经理"),
    ],
    "admin": [
        ("ADM-ADM", "行政专员"),
        ("ADM-HR", "人事专员"),
        ("ADM-FIN", "财务会计"),
        ("ADM-MGR", "职能经理"),
    ],
    "manufacturing": [
        ("MFG-OP", "操作工"),
        ("MFG-TEC", "设备维修技师"),
        ("MFG-PE", "工艺工程师"),
        ("MFG-MGR", "车间主任"),
    ],
}
FUNCTION_DEPTS = {
    "sales": ["华东销售部", "华南销售部", "华北销售部", "大客户部"],
    "engineering": ["研发中心", "测试部"],
    "admin": ["人力资源部", "财务部", "行政部", "IT部"],
    "manufacturing": ["一车间", "二车间", "设备部"],
}
TEAM_SIZE = 40

PROMOTION_RAISE_PCT = 12
PAY_REASONS = {
    "hire": "入职定薪",
    "annual": "年度调薪 +{pct}%",
    "promotion": "晋升调薪 +{pct}%",
    "retention": "保留调薪 +{pct}%",
}
# Yearly ratings S/A/B/C/D at 5/20/55/15/5 %: the normal quantiles that split them.
RATING_CUTS = [(1.645, "S"), (0.674, "A"), (-0.842, "B"), (-1.645, "C")]
RATING_YEARS = (2023, 2024, 2025)
LEAVE_FROM, LEAVE_UNTIL = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
# (leave type, records per year at most, working days it may take)
LEAVE_PLAN = [
    ("annual", 2, (1, 1, 2, 3, 5)),
    ("sick", 1, (0.5, 1, 1, 2, 3)),
    ("personal", 0.5, (0.5, 1)),
    ("compensatory", 0.5, (1,)),
]
RARE_LEAVE = [
    ("marriage", 0.01, (3, 10)),
    ("paternity", 0.01, (10, 15)),
    ("bereavement", 0.01, (3,)),
]
ATTENDANCE_DAYS = 10
PAY_FIELDS = ("employee", "effective_date", "change_type", "monthly_base", "currency", "reason")
RATING_FIELDS = ("employee", "period", "rating", "score")
LEAVE_FIELDS = ("employee", "leave_type", "start_date", "end_date", "days")
ATTENDANCE_FIELDS = ("employee", "date", "status", "clock_in", "clock_out")


@dataclass
class Built:
    group: Group
    employees: int
    logins: list[tuple[str, str, str]]


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def _hire_date(rng: random.Random) -> dt.date:
    # Skewed to recent years, like a growing group.
    years_back = min(18.0, rng.expovariate(1 / 4.5))
    return TODAY - dt.timedelta(days=int(years_back * 365) + 30)


@transaction.atomic
def build(employees: int = 600, seed: int = 7, log: Callable[[str], None] = print) -> Built:
    rng = random.Random(seed)
    group = Group.objects.create(
        code="HX", name="华夏智造集团", employee_number_pattern="{group}{bu}{yy}{seq:05}"
    )
    cities = {
        c[0]: City.objects.create(code=c[0], name=c[1], name_en=c[2], province=c[3]) for c in CITIES
    }
    families = {
        code: PositionFamily.objects.create(code=code, name=name) for code, name in FAMILIES
    }
    positions = {
        fam: [
            Position.objects.create(code=code, title=title, family=families[fam])
            for code, title in plist
        ]
        for fam, plist in POSITIONS.items()
    }

    bus: dict[str, BusinessUnit] = {}
    entities: dict[str, list[LegalEntity]] = {}
    for code, name, city, _share, _mix in BUSINESS_UNITS:
        bus[code] = BusinessUnit.objects.create(
            group=group, code=code, name=name, city=cities[city]
        )
        entities[code] = [
            LegalEntity.objects.create(
                group=group,
                business_unit=bus[code],
                code=ecode,
                name=ename,
                city=cities[ecity],
                jurisdiction=jur,
                registration_number=f"91{rng.randrange(10**15, 10**16)}",
            )
            for ecode, ename, ecity, jur in ENTITIES[code]
        ]

    # ---- plan the people per business unit and function, then the department tree to hold them
    plan: list[tuple[str, str, int]] = []  # (bu, function, headcount)
    for code, _n, _c, share, mix in BUSINESS_UNITS:
        bu_total = max(len(mix) * 2, round(employees * share))
        for fam, frac in mix.items():
            plan.append((code, fam, max(2, round(bu_total * frac))))
    scale = employees / sum(n for *_x, n in plan)
    plan = [(b, f, max(2, round(n * scale))) for b, f, n in plan]
    # The business-unit heads come on top of the plan.
    short = employees - len(BUSINESS_UNITS) - sum(n for *_x, n in plan)
    plan[-1] = (plan[-1][0], plan[-1][1], plan[-1][2] + short)

    dept_seq = Counter[str]()

    def make_dept(bu: BusinessUnit, parent: Department | None, name: str) -> Department:
        dept_seq[bu.code] += 1
        d = Department.objects.create(
            business_unit=bu, parent=parent, name=name, code=f"{bu.code}{dept_seq[bu.code]:04d}"
        )
        d.path = f"{parent.path if parent else '/'}{d.pk}/"
        d.save(update_fields=["path"])
        return d

    roots = {code: make_dept(bu, None, f"{bu.name}总部") for code, bu in bus.items()}
    # teams[(bu, fam)] = list of (function department, [team departments])
    teams: dict[tuple[str, str], list[tuple[Department, list[Department]]]] = {}
    for code, fam, n in plan:
        names = FUNCTION_DEPTS[fam]
        used = names[: max(1, min(len(names), math.ceil(n / (TEAM_SIZE * 3))))]
        per = math.ceil(n / len(used))
        entries = []
        for dname in used:
            fdept = make_dept(bus[code], roots[code], dname)
            n_teams = max(1, math.ceil(per / TEAM_SIZE)) if per > TEAM_SIZE * 1.5 else 0
            subs = [make_dept(bus[code], fdept, f"{dname}{i + 1}组") for i in range(n_teams)]
            entries.append((fdept, subs))
        teams[(code, fam)] = entries
    log(f"departments: {Department.objects.count()}")

    # ---- people, level by level so that every manager exists before their reports
    seq: Counter[str] = Counter()
    emp_rows: list[dict[str, Any]] = []

    def new_employee(
        bu_code: str, fam: str, dept: Department, level: int, manager: Employee | None
    ) -> Employee:
        bu = bus[bu_code]
        entity = rng.choice(entities[bu_code])
        hire = _hire_date(rng)
        if level <= 1:
            hire = min(hire, TODAY - dt.timedelta(days=3 * 365))
        prefix = number_prefix(group, bu, entity, hire.year)
        seq[prefix] += 1
        number = prefix.replace("{seq:05}", f"{seq[prefix]:05d}")
        plist = positions[fam]
        position = plist[3] if level <= 2 else plist[min(2, int(rng.random() ** 2 * 3))]
        r = rng.random()
        status, term = "active", None
        if level >= 3 and r < 0.08:
            status = "departed"
            term = hire + dt.timedelta(days=rng.randrange(60, max(61, (TODAY - hire).days)))
        elif hire > TODAY - dt.timedelta(days=180):
            status = "probation"
        emp = Employee(
            group=group,
            employee_number=number,
            name=_name(rng),
            email=f"{number.lower()}@huaxia.example",
            phone=f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
            business_unit=bu,
            legal_entity=entity,
            department=dept,
            position=position,
            manager=manager,
            work_city=entity.city,
            hire_date=hire,
            status=status,
            termination_date=term,
        )
        emp_rows.append({"fam": fam, "level": level})
        return emp

    def insert(objs: list[Employee]) -> list[Employee]:
        return Employee.objects.bulk_create(objs, batch_size=5000)

    bu_heads = {
        code: insert([new_employee(code, "admin", roots[code], 0, None)])[0] for code in bus
    }
    heads_by_dept: dict[int, Employee] = {root.pk: bu_heads[code] for code, root in roots.items()}
    created = len(bu_heads)
    level1: list[Employee] = []
    for (code, fam), entries in teams.items():
        for fdept, _subs in entries:
            level1.append(new_employee(code, fam, fdept, 1, bu_heads[code]))
    for e in insert(level1):
        heads_by_dept[e.department_id] = e
    created += len(level1)
    level2: list[Employee] = []
    for (code, fam), entries in teams.items():
        for fdept, subs in entries:
            for sub in subs:
                level2.append(new_employee(code, fam, sub, 2, heads_by_dept[fdept.pk]))
    for e in insert(level2):
        heads_by_dept[e.department_id] = e
    created += len(level2)

    members: list[Employee] = []
    for code, fam, n in plan:
        entries = teams[(code, fam)]
        slots = [sub for _f, subs in entries for sub in subs] or [f for f, _s in entries]
        leaders = sum(1 + len(subs) for _f, subs in entries)
        for i in range(max(0, n - leaders)):
            dept = slots[i % len(slots)]
            members.append(new_employee(code, fam, dept, 3, heads_by_dept[dept.pk]))
    for start in range(0, len(members), 20000):
        insert(members[start : start + 20000])
    created += len(members)
    log(f"employees: {created}")

    depts = list(Department.objects.all())
    for d in depts:
        d.head = heads_by_dept.get(d.pk)
    Department.objects.bulk_update(depts, ["head"], batch_size=2000)
    EmployeeNumberSequence.objects.bulk_create(
        [EmployeeNumberSequence(group=group, prefix=p, last_value=v) for p, v in seq.items()]
    )

    counts = _records(rng)
    log(", ".join(f"{k}: {v}" for k, v in counts.items()))
    logins = _logins(bus, entities, roots, teams)
    admin = User.objects.get(username="admin")
    trail.record_many(
        [
            trail.Change(
                AuditEvent.ORG_BULK_LOADED,
                group,
                extra={
                    "source": "baton demo",
                    "seed": seed,
                    "employees": created,
                    "departments": len(depts),
                    **counts,
                },
            )
        ],
        actor=admin,
    )
    return Built(group, created, logins)


def _records(rng: random.Random) -> dict[str, int]:
    """Contracts, agreements, lifecycle history and pay history for everyone, in bulk; then
    ratings, leave and attendance (drawn after everything else, so adding them left the rest of
    the demo as it was)."""
    contracts: list[Contract] = []
    agreements: list[Agreement] = []
    events: list[LifecycleEvent] = []
    pay_changes: list[tuple[Any, ...]] = []
    people: list[tuple[int, dt.date, dt.date | None, str]] = []
    counts = Counter[str]()
    fam_of = dict(Position.objects.values_list("id", "family__code"))
    rows = Employee.objects.values_list(
        "id",
        "legal_entity_id",
        "hire_date",
        "status",
        "termination_date",
        "position_id",
        "department_id",
    )

    def flush(final: bool = False) -> None:
        if len(contracts) >= 20000 or final:
            Contract.objects.bulk_create(contracts, batch_size=5000)
            counts["contracts"] += len(contracts)
            contracts.clear()
        if len(agreements) >= 20000 or final:
            Agreement.objects.bulk_create(agreements, batch_size=5000)
            counts["agreements"] += len(agreements)
            agreements.clear()
        if len(events) >= 40000 or final:
            LifecycleEvent.objects.bulk_create(events, batch_size=5000)
            counts["lifecycle_events"] += len(events)
            events.clear()
        if len(pay_changes) >= 40000 or final:
            _insert(CompensationChange, PAY_FIELDS, pay_changes, counts, "compensation_changes")

    for emp_id, entity_id, hire, status, term, position_id, _dept_id in rows.iterator(5000):
        end_of_service = term or TODAY
        fam = fam_of[position_id]
        people.append((emp_id, hire, term, status))
        # Contracts: 3-year fixed terms; after two, open-ended (LCL 14).
        start, n = hire, 1
        while True:
            if n >= 3:
                contracts.append(
                    Contract(
                        employee_id=emp_id,
                        legal_entity_id=entity_id,
                        contract_type="open_ended",
                        start_date=start,
                        signed_on=start,
                        sequence=n,
                    )
                )
                break
            end = add_years(start, 3) - dt.timedelta(days=1)
            contracts.append(
                Contract(
                    employee_id=emp_id,
                    legal_entity_id=entity_id,
                    contract_type="fixed_term",
                    start_date=start,
                    end_date=end,
                    signed_on=start,
                    sequence=n,
                    probation_end_date=start + dt.timedelta(days=180) if n == 1 else None,
                )
            )
            if end >= end_of_service:
                break
            start, n = end + dt.timedelta(days=1), n + 1
        events.append(LifecycleEvent(employee_id=emp_id, event_type="hire", effective_date=hire))
        if (end_of_service - hire).days > 180:
            events.append(
                LifecycleEvent(
                    employee_id=emp_id,
                    event_type="probation_passed",
                    effective_date=hire + dt.timedelta(days=180),
                )
            )
        salary = {"sales": 12000, "engineering": 22000, "admin": 10000, "manufacturing": 7500}[
            fam
        ] * rng.uniform(0.8, 1.4)
        pay = [_Pay(hire, "hire", salary, 0)]
        day = hire + dt.timedelta(days=365)
        while day < end_of_service:
            raise_pct = rng.choice([0, 3, 5, 8, 10, 15])
            if raise_pct:
                salary *= 1 + raise_pct / 100
                event = LifecycleEvent(
                    employee_id=emp_id,
                    event_type="pay_change",
                    effective_date=day,
                    details={"monthly_salary": round(salary), "raise_pct": raise_pct},
                )
                events.append(event)
                pay.append(_Pay(day, "annual", salary, raise_pct, event))
            if rng.random() < 0.08:
                events.append(
                    LifecycleEvent(employee_id=emp_id, event_type="promotion", effective_date=day)
                )
                # A promotion comes with a raise, and later reviews build on it.
                salary *= 1 + PROMOTION_RAISE_PCT / 100
                pay.append(_Pay(day, "promotion", salary, PROMOTION_RAISE_PCT))
            day += dt.timedelta(days=365)
        if rng.random() < 0.04:
            when = min(end_of_service, TODAY) - dt.timedelta(days=rng.randrange(30, 200))
            raise_pct = rng.choice([10, 15, 20])
            if when > hire + dt.timedelta(days=30):  # (never before the person was hired)
                events.append(
                    LifecycleEvent(
                        employee_id=emp_id,
                        event_type="retention_raise",
                        effective_date=when,
                        details={"raise_pct": raise_pct},
                    )
                )
                _retention_raise(pay, when, raise_pct)
        pay_changes.extend(
            (
                emp_id,
                p.day,
                p.kind,
                Decimal(round(p.salary)),
                "CNY",
                PAY_REASONS[p.kind].format(pct=p.pct),
            )
            for p in pay
        )
        if status == "departed" and term is not None:
            events.append(
                LifecycleEvent(
                    employee_id=emp_id,
                    event_type="resignation",
                    effective_date=term,
                    details={
                        "reason": rng.choice(
                            [
                                "compensation",
                                "career",
                                "relocation",
                                "manager",
                                "workload",
                                "family",
                                "study",
                            ]
                        )
                    },
                )
            )
        if fam in ("sales", "engineering"):
            agreements.append(Agreement(employee_id=emp_id, agreement_type="nda", signed_on=hire))
        if fam in ("sales", "engineering") and rng.random() < 0.15:
            months = rng.choice([6, 12, 24])
            agreements.append(
                Agreement(
                    employee_id=emp_id,
                    agreement_type="non_compete",
                    signed_on=hire,
                    terms={"months": months, "monthly_compensation_ratio": 0.3},
                )
            )
        if rng.random() < 0.05:
            signed = hire + dt.timedelta(days=rng.randrange(100, 900))
            if signed < end_of_service:
                agreements.append(
                    Agreement(
                        employee_id=emp_id,
                        agreement_type="training_service",
                        signed_on=signed,
                        effective_until=add_years(signed, 2),
                        terms={
                            "service_months": 24,
                            "training_cost": rng.choice([8000, 20000, 50000]),
                        },
                    )
                )
        flush()
    flush(final=True)
    _ratings_leave_attendance(rng, people, counts)
    return dict(counts)


@dataclass(slots=True)
class _Pay:
    """One step of a person's monthly base pay while the demo draws it."""

    day: dt.date
    kind: str
    salary: float
    pct: int
    event: LifecycleEvent | None = None


def _retention_raise(pay: list[_Pay], when: dt.date, pct: int) -> None:
    """A retention raise on `when`; the steps after it (and their pay-change events) build on
    the raised pay."""
    factor = 1 + pct / 100
    i = bisect.bisect_right([p.day for p in pay], when)
    pay.insert(i, _Pay(when, "retention", pay[i - 1].salary * factor, pct))
    for later in pay[i + 1 :]:
        later.salary *= factor
        if later.event is not None:
            later.event.details["monthly_salary"] = round(later.salary)


def _insert(
    model: Any, fields: tuple[str, ...], rows: list[tuple[Any, ...]], counts: Counter[str], key: str
) -> None:
    """Insert prepared rows (values in `fields` order, already what the database takes) in
    batches. Plain INSERTs rather than bulk_create for the pay, rating, leave and attendance
    tables: they are twice the rows of everything else, and bulk_create's per-value
    preparation would double the time to build the demo."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({columns}) "  # noqa: S608 — fixed names
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])
    counts[key] += len(rows)
    rows.clear()


def _clock(hour: int, minute: int, n: int) -> list[Any]:
    """`n` consecutive minutes from hour:minute, as the database takes a time."""
    first = hour * 60 + minute
    return [
        connection.ops.adapt_timefield_value(dt.time((first + m) // 60, (first + m) % 60))
        for m in range(n)
    ]


def _ratings_leave_attendance(
    rng: random.Random, people: list[tuple[int, dt.date, dt.date | None, str]], counts: Counter[str]
) -> None:
    """Yearly ratings for 2023–2025, leave taken in 2025–2026, and attendance on the last
    working days before TODAY for the people still employed, in bulk."""
    ratings: list[tuple[Any, ...]] = []
    leaves: list[tuple[Any, ...]] = []
    days: list[tuple[Any, ...]] = []
    tables = [
        (PerformanceRating, RATING_FIELDS, ratings, "performance_ratings"),
        (LeaveRecord, LEAVE_FIELDS, leaves, "leave_records"),
        (AttendanceDay, ATTENDANCE_FIELDS, days, "attendance_days"),
    ]
    on_time, late, leave_at = _clock(8, 40, 50), _clock(9, 31, 50), _clock(17, 30, 180)
    workdays = [
        LEAVE_FROM + dt.timedelta(days=n)
        for n in range((LEAVE_UNTIL - LEAVE_FROM).days + 1)
        if is_working_day(LEAVE_FROM + dt.timedelta(days=n))
    ]
    last = bisect.bisect_left(workdays, TODAY)
    recent = range(last - ATTENDANCE_DAYS, last)  # indexes into workdays
    for emp_id, hire, term, status in people:
        # Rated for a year worked from its first three quarters to its end; talent persists.
        talent = rng.gauss(0, 0.6)
        for year in RATING_YEARS:
            if hire <= dt.date(year, 9, 30) and (term is None or term > dt.date(year, 12, 31)):
                z = talent + rng.gauss(0, 0.8)
                rating = next((r for cut, r in RATING_CUTS if z >= cut), "D")
                score = min(100.0, max(0.0, 75 + 10 * z))
                ratings.append((emp_id, str(year), rating, Decimal(f"{score:.2f}")))
        # Leave: whole working days (or half of one), never overlapping, within the service.
        lo = bisect.bisect_left(workdays, max(hire, LEAVE_FROM))
        hi = bisect.bisect_right(workdays, min(term or TODAY, TODAY))
        limit = bisect.bisect_right(workdays, term) if term else len(workdays)
        taken: set[int] = set()
        if hi > lo:
            years = (hi - lo) / 250
            plan = [
                (t, int(rng.random() * (per * years + 1)), sizes) for t, per, sizes in LEAVE_PLAN
            ]
            plan += [(t, 1, sizes) for t, p, sizes in RARE_LEAVE if rng.random() < p * years]
            for leave_type, n, sizes in plan:
                for _ in range(n):
                    size = rng.choice(sizes)
                    first = rng.randrange(lo, hi)
                    span = range(first, first + math.ceil(size))
                    if span.stop > limit or not taken.isdisjoint(span):
                        continue
                    taken.update(span)
                    start, end = workdays[span.start], workdays[span.stop - 1]
                    leaves.append((emp_id, leave_type, start, end, Decimal(str(size))))
        if term is None and status in ("active", "probation"):
            for i in recent:
                if workdays[i] < hire:
                    continue
                r = rng.random()
                if i in taken:
                    days.append((emp_id, workdays[i], "leave", None, None))
                elif r < 0.93:
                    status_, clock_in = (
                        ("present", rng.choice(on_time))
                        if r < 0.85
                        else ("late", rng.choice(late))
                        if r < 0.9
                        else ("remote", rng.choice(on_time))
                    )
                    days.append((emp_id, workdays[i], status_, clock_in, rng.choice(leave_at)))
                else:
                    days.append((emp_id, workdays[i], "trip" if r < 0.98 else "absent", None, None))
        for model, fields, rows, key in tables:
            if len(rows) >= 40000:
                _insert(model, fields, rows, counts, key)
    for model, fields, rows, key in tables:
        _insert(model, fields, rows, counts, key)


def _logins(
    bus: dict[str, BusinessUnit],
    entities: dict[str, list[LegalEntity]],
    roots: dict[str, Department],
    teams: dict[tuple[str, str], list[tuple[Department, list[Department]]]],
) -> list[tuple[str, str, str]]:
    """One login per role; the people behind them are real records of the demo group."""
    rd = Department.objects.select_related("head").get(pk=teams[("C", "engineering")][0][0].pk)
    rd_member = (
        Employee.objects.filter(department__path__startswith=rd.path, status="active")
        .exclude(pk=rd.head_id or 0)
        .order_by("employee_number")
        .first()
    )
    peer = (
        Employee.objects.filter(department__path__startswith=rd.path, status="active")
        .exclude(pk__in=[rd.head_id, rd_member.pk if rd_member else 0])
        .order_by("employee_number")
        .first()
    )
    specs: list[tuple[str, str, str, Employee | None, list[tuple[str, dict[str, Any]]]]] = [
        ("admin", "集团人力 · 管理员", "Group HR admin", None, [(Role.GROUP_ADMIN, {})]),
        (
            "hrbp.cloud",
            "云软件 HRBP",
            "HRBP, cloud-software BU",
            None,
            [(Role.HRBP, {"business_unit": bus["C"]})],
        ),
        (
            "hrbp.devices",
            "智能终端 HRBP",
            "HRBP, devices BU",
            None,
            [(Role.HRBP, {"business_unit": bus["D"]})],
        ),
        (
            "head.rd",
            rd.head.name if rd.head else "研发负责人",
            "Head of R&D (cloud software)",
            rd.head,
            [(Role.DEPT_HEAD, {"department": rd}), (Role.EMPLOYEE, {})],
        ),
        (
            "employee",
            rd_member.name if rd_member else "员工",
            "Employee in R&D",
            rd_member,
            [(Role.EMPLOYEE, {})],
        ),
        (
            "receiver",
            peer.name if peer else "接收人",
            "Receiver (a colleague in R&D)",
            peer,
            [(Role.RECEIVER, {}), (Role.EMPLOYEE, {})],
        ),
        ("it", "IT 安全", "IT / security", None, [(Role.IT, {})]),
        ("finance", "财务", "Finance", None, [(Role.FINANCE, {})]),
        ("auditor", "法务审计", "Legal / auditor (read-only)", None, [(Role.AUDITOR, {})]),
    ]
    out = []
    for username, display, role_label, emp, roles in specs:
        user = User(
            username=username,
            display_name=display,
            employee=emp,
            email=f"{username}@huaxia.example",
            language="en" if username == "auditor" else "zh-hans",
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        for role, scope in roles:
            RoleAssignment.objects.create(user=user, role=role, **scope)
        out.append((username, DEMO_PASSWORD, role_label))
    return out


def logins() -> list[tuple[str, str, str]]:
    """The demo logins, as printed by `baton demo logins`."""
    labels = {
        "admin": "Group HR admin (whole group)",
        "hrbp.cloud": "HRBP, cloud-software BU only",
        "hrbp.devices": "HRBP, devices BU only",
        "head.rd": "Department head, R&D subtree",
        "employee": "Employee (sees own record)",
        "receiver": "Receiver",
        "it": "IT / security",
        "finance": "Finance",
        "auditor": "Legal / auditor (read-only)",
    }
    present = set(User.objects.filter(username__in=labels).values_list("username", flat=True))
    return [(u, DEMO_PASSWORD, label) for u, label in labels.items() if u in present]
