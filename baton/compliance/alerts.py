"""Alerts on the workers' clock: a non-compete payment more than 60 days late risks the
employee's right to be released from the restriction after three months unpaid (SPC
Interpretation (I) art. 38), so HR and finance are told — once per payment."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from baton.compliance.models import NonCompetePayment
from baton.compliance.settlement import LATE_PAYMENT_DAYS


def alert_late_non_compete_payments(today: dt.date | None = None) -> int:
    """Alert HR and finance about unpaid non-compete payments past the 60-day mark (each
    payment once). Returns how many payments were alerted."""
    from baton.integrations.actions.systems import notify_it

    today = today or timezone.localdate()
    late = NonCompetePayment.objects.filter(
        paid_at__isnull=True,
        late_alerted_at__isnull=True,
        due_date__lt=today - dt.timedelta(days=LATE_PAYMENT_DAYS),
    ).values_list("pk", flat=True)
    done = 0
    for pk in list(late):
        with transaction.atomic():
            payment = (
                NonCompetePayment.objects.select_for_update()
                .select_related("non_compete__settlement__case__employee")
                .get(pk=pk)
            )
            if payment.late_alerted_at is not None or payment.paid_at is not None:
                continue
            case = payment.non_compete.settlement.case
            notify_it(
                case,
                _("Non-compete payment more than %(days)s days late") % {"days": LATE_PAYMENT_DAYS},
                _(
                    "Month %(seq)s of %(name)s's non-compete compensation (%(amount)s, due "
                    "%(due)s) is unpaid. After three months unpaid the employee may ask to be "
                    "released from the restriction."
                )
                % {
                    "seq": payment.seq,
                    "name": case.employee.name,
                    "amount": payment.amount,
                    "due": payment.due_date.isoformat(),
                },
                roles=("hrbp", "finance"),
                url=reverse("compliance:settlement", args=[case.pk]),
            )
            payment.late_alerted_at = timezone.now()
            payment.save(update_fields=["late_alerted_at"])
            done += 1
    return done
