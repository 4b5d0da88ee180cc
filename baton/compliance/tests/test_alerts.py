"""A non-compete payment more than 60 days late alerts HR and finance, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from baton.compliance import actions_settlement as actions
from baton.compliance.alerts import alert_late_non_compete_payments
from baton.compliance.models import NonCompetePayment
from baton.compliance.tests.test_settlement_views import INPUTS
from baton.handover.models import ExitCase
from baton.notify.models import Notification

pytestmark = pytest.mark.django_db


def test_late_non_compete_payments_alert_hr_and_finance_once(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    hr = users["hrbp.cloud"]
    s = actions.calculate(approved_case, INPUTS, acting_user=hr)
    actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=3, eligibility="核心算法工程师"
    )
    first = NonCompetePayment.objects.order_by("due_date").first()
    assert first is not None
    assert alert_late_non_compete_payments(first.due_date + dt.timedelta(days=60)) == 0
    assert alert_late_non_compete_payments(first.due_date + dt.timedelta(days=61)) == 1
    alerted = set(Notification.objects.filter(case=approved_case).values_list("user", flat=True))
    assert {hr.pk, users["finance"].pk} <= alerted
    assert users["employee"].pk not in alerted
    assert alert_late_non_compete_payments(first.due_date + dt.timedelta(days=62)) == 0


def test_waiving_after_the_restriction_started_is_refused_with_the_cost(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    from baton.compliance.models import NonCompete
    from baton.core.errors import Conflict

    hr = users["hrbp.cloud"]
    s = actions.calculate(approved_case, INPUTS, acting_user=hr)
    nc = actions.decide_non_compete(
        s, acting_user=hr, decision="activate", months=6, eligibility="核心算法工程师"
    )
    # As if the last day had passed and the restriction had begun.
    NonCompete.objects.filter(pk=nc.pk).update(start_date=dt.date(2026, 1, 1))
    with pytest.raises(Conflict, match="three months"):
        actions.decide_non_compete(s, acting_user=hr, decision="waive")
    assert NonCompetePayment.objects.filter(non_compete=nc).count() == 6


def test_pay_in_lieu_only_where_the_law_offers_it(
    users: dict[str, Any], approved_case: ExitCase
) -> None:
    """A resignation has no 代通知金, whatever is ticked (LCL 40, Impl. Reg. 20)."""
    s = actions.calculate(
        approved_case, {**INPUTS, "pay_in_lieu": True}, acting_user=users["hrbp.cloud"]
    )
    assert not s.pay_in_lieu
    assert not any(line["key"] == "pay_in_lieu" for line in s.lines)
