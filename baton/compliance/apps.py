from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "baton.compliance"
    label = "compliance"
    verbose_name = _("Lawful exits")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from baton.compliance.actions_packs import on_post_migrate

        # The shipped rule packs and question bank are installed after every migrate (and flush).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="compliance_rule_packs")

        from baton.audit import trail
        from baton.compliance import actions_deadlines

        # Statutory deadlines are planned on approval.
        trail.listeners.append(actions_deadlines.on_audit)

        from baton.core.models import ScheduledRun
        from baton.core.schedule import Job, every

        def _late_payments(run: ScheduledRun, now: object) -> None:
            from baton.compliance.alerts import alert_late_non_compete_payments

            alert_late_non_compete_payments()

        # Once a day (the slot is the date): late non-compete payments.
        every(Job("non-compete-late", lambda now: now.strftime("%Y-%m-%d"), _late_payments))
