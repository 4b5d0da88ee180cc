"""Lawful-exit pages (settlement, certificates and their public verification, deadlines, exit
interviews)."""

from django.urls import path

from baton.compliance import (
    views_certificates,
    views_interviews,
    views_settlement,
    views_terms,
)

app_name = "compliance"

urlpatterns: list = [
    # Each part adds its pages here.
    *views_interviews.urlpatterns,
    *views_settlement.urlpatterns,
    *views_certificates.urlpatterns,
    *views_terms.urlpatterns,
]
public_urlpatterns: list = [
    # Pages anyone may open without an account (certificate verification, the interview link).
    *views_interviews.public_urlpatterns,
    *views_certificates.public_urlpatterns,
]
_ = path
