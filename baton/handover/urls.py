from django.urls import path

from baton.handover.views import (
    admin,
    board,
    cases,
    confirm,
    knowledge,
    my_tasks,
    open_case,
    tasks,
)

app_name = "handover"
urlpatterns = [
    *my_tasks.urlpatterns,
    *open_case.urlpatterns,
    *cases.urlpatterns,
    *tasks.urlpatterns,
    *admin.urlpatterns,
    *knowledge.urlpatterns,
    *board.urlpatterns,
]
# The public confirmation page (no account) lives outside the app's login-only URLs.
public_urlpatterns = [
    path("confirm/", confirm.confirm, name="confirm"),
    # Links sent before the token moved into the URL fragment.
    path("confirm/<str:token>/", confirm.confirm_legacy, name="confirm_legacy"),
]
