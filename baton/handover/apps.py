from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoverConfig(AppConfig):
    name = "baton.handover"
    label = "handover"
    verbose_name = _("Handover")
