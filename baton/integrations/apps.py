from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "baton.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        # Inside ready(): the app registry must be loaded before models are imported.
        from baton.audit import trail
        from baton.integrations import outbox, queue, schedule, tasks
        from baton.integrations.actions import business, revocations

        queue.provide(
            tasks.deliver_webhooks,
            tasks.emit_overdue_events,
            tasks.run_revocations,
            tasks.run_pull,
            tasks.sweep_pulls,
            tasks.hand_over_customers,
            tasks.check_customer_transfers,
            tasks.write_back_customers,
            tasks.send_customer_letters,
        )
        trail.listeners.append(outbox.on_audit)
        trail.listeners.append(revocations.on_audit)  # plans access revocation on approval
        trail.listeners.append(business.on_audit)  # queues business-data pulls on approval
        business.register()  # the pull sweep on the workers' clock
        schedule.register()
