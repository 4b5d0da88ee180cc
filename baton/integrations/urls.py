"""Integration pages: connected systems, the revocation queue, webhook subscriptions and the
business data and customers of a case."""

from django.urls import path

from baton.integrations import views_case as case
from baton.integrations import views_customers as cust
from baton.integrations import views_systems as systems
from baton.integrations import views_webhooks as hooks

app_name = "integrations"

urlpatterns: list = [
    path("settings/webhooks/", hooks.subscriptions, name="webhooks"),
    path("settings/webhooks/new/", hooks.subscription_create, name="webhook_create"),
    path("settings/webhooks/<int:pk>/", hooks.subscription_detail, name="webhook"),
    path("settings/webhooks/<int:pk>/rotate/", hooks.subscription_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:pk>/replay/", hooks.subscription_replay, name="webhook_replay"),
    path("settings/systems/", systems.systems, name="systems"),
    path("settings/systems/new/<slug:kind>/", systems.system_create, name="system_create"),
    path("settings/systems/<int:pk>/", systems.system_detail, name="system"),
    path("settings/systems/<int:pk>/test/", systems.system_test, name="system_test"),
    path("settings/systems/<int:pk>/tokens/", systems.token_issue, name="system_token_issue"),
    path(
        "settings/systems/<int:pk>/tokens/<int:token_id>/revoke/",
        systems.token_revoke,
        name="system_token_revoke",
    ),
    path("integrations/cases/<int:pk>/", case.case_section, name="case_section"),
    path("integrations/revocations/", case.revocation_queue, name="revocations"),
    path("integrations/revocations/<int:pk>/", case.revocation_detail, name="revocation"),
    path(
        "integrations/revocations/<int:pk>/retry/", case.revocation_retry, name="revocation_retry"
    ),
    path(
        "integrations/revocations/<int:pk>/manual/",
        case.revocation_manual,
        name="revocation_manual",
    ),
    path("integrations/cases/<int:pk>/customers/", cust.case_customers, name="case_customers"),
    path(
        "integrations/cases/<int:pk>/customers/reassign/",
        cust.case_customers_reassign,
        name="case_customers_reassign",
    ),
    path(
        "integrations/cases/<int:pk>/customers/letters/",
        cust.case_customers_letters,
        name="case_customers_letters",
    ),
    # Each feature module adds its pages here.
]
