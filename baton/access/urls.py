from django.urls import path

from baton.access import views

app_name = "access"
urlpatterns = [
    path("logout/", views.logout_view, name="logout"),
    path("me/", views.preferences, name="preferences"),
    path("me/tokens/", views.create_token, name="create_token"),
    path("me/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("users/", views.users, name="users"),
    path("users/<int:user_id>/roles/", views.grant_role, name="grant_role"),
    path("roles/<int:assignment_id>/revoke/", views.revoke_role, name="revoke_role"),
]
