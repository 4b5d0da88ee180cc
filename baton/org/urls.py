from django.urls import path

from baton.org import views, views_duplicates

app_name = "org"
urlpatterns = [
    path("people/", views.employees, name="employees"),
    path("people/new/", views.employee_create, name="employee_create"),
    path("org/duplicates/", views_duplicates.duplicate_list, name="duplicates"),
    path("org/duplicates/merge/", views_duplicates.duplicate_merge, name="duplicate_merge"),
    path("people/<int:pk>/", views.employee, name="employee"),
    path("people/<int:pk>/edit/", views.employee_edit, name="employee_edit"),
    path("people/<int:pk>/<str:kind>/add/", views.employee_record_add, name="employee_record_add"),
    path("organisation/", views.structure, name="structure"),
    path("organisation/group/", views.group_settings, name="group_settings"),
    path("agreements/<int:pk>/document/", views.agreement_document, name="agreement_document"),
    path("organisation/<str:kind>/new/", views.structure_edit, name="structure_create"),
    path("organisation/<str:kind>/<int:pk>/", views.structure_edit, name="structure_edit"),
]
