from django.urls import path

from baton.notify.views import channels, deliveries, notifications, rules

app_name = "notify"

urlpatterns = [
    path("notifications/", notifications.centre, name="centre"),
    path("notifications/badge/", notifications.badge, name="badge"),
    path("notifications/read/", notifications.mark_all, name="mark_all"),
    path("notifications/<int:pk>/read/", notifications.mark_one, name="mark_one"),
    path("notifications/preferences/", notifications.preferences, name="preferences"),
    path("settings/channels/", channels.channels, name="channels"),
    path("settings/channels/new/<slug:kind>/", channels.channel_create, name="channel_create"),
    path("settings/channels/<int:pk>/", channels.channel_edit, name="channel_edit"),
    path("settings/channels/<int:pk>/test/", channels.channel_test, name="channel_test"),
    path("settings/reminders/", rules.rules, name="rules"),
    path("settings/reminders/new/", rules.rule_create, name="rule_create"),
    path("settings/reminders/<int:pk>/", rules.rule_edit, name="rule_edit"),
    path("settings/reminders/<int:pk>/delete/", rules.rule_delete, name="rule_delete"),
    path(
        "settings/reminders/checklist/<int:pk>/",
        rules.template_rules,
        name="template_rules",
    ),
    path("deliveries/", deliveries.deliveries, name="deliveries"),
    path("deliveries/case/<int:pk>/", deliveries.case_deliveries, name="case_deliveries"),
]
