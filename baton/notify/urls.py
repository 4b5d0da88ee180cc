from django.urls import path

from baton.notify import views

app_name = "notify"

urlpatterns = [
    path("notifications/", views.centre, name="centre"),
    path("notifications/badge/", views.badge, name="badge"),
    path("notifications/read/", views.mark_all, name="mark_all"),
    path("notifications/<int:pk>/read/", views.mark_one, name="mark_one"),
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("settings/channels/", views.channels, name="channels"),
    path("settings/channels/new/<slug:kind>/", views.channel_create, name="channel_create"),
    path("settings/channels/<int:pk>/", views.channel_edit, name="channel_edit"),
    path("settings/channels/<int:pk>/test/", views.channel_test, name="channel_test"),
    path("settings/reminders/", views.rules, name="rules"),
    path("settings/reminders/new/", views.rule_create, name="rule_create"),
    path("settings/reminders/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("settings/reminders/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path(
        "settings/reminders/checklist/<int:pk>/",
        views.template_rules,
        name="template_rules",
    ),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/case/<int:pk>/", views.case_deliveries, name="case_deliveries"),
]
