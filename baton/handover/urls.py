from django.urls import path

from baton.handover import views_admin, views_board, views_cases, views_tasks

app_name = "handover"
urlpatterns = [
    *views_cases.urlpatterns,
    *views_tasks.urlpatterns,
    *views_admin.urlpatterns,
    *views_board.urlpatterns,
]
# The public confirmation page (no account) lives outside the app's login-only URLs.
public_urlpatterns = [
    path("confirm/", views_tasks.confirm, name="confirm"),
    # Links sent before the token moved into the URL fragment.
    path("confirm/<str:token>/", views_tasks.confirm_legacy, name="confirm_legacy"),
]
