from django.urls import include, path, re_path

from baton.access import views as access_views
from baton.api import api
from baton.compliance.urls import public_urlpatterns as compliance_public
from baton.core import views as core_views
from baton.core.api_errors import not_found as api_not_found
from baton.handover.urls import public_urlpatterns

handler500 = core_views.server_error

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/", api.urls),
    # Under /api/, what no operation answers is the API's JSON 404 (e.g. a non-numeric id).
    re_path(r"^api/", api_not_found),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", access_views.login_view, name="login"),
    path("", include("baton.access.urls")),
    path("", include("baton.org.urls")),
    path("audit/", include("baton.audit.urls")),
    path("handover/", include("baton.handover.urls")),
    path("", include("baton.notify.urls")),
    path("", include("baton.integrations.urls")),
    path("compliance/", include("baton.compliance.urls")),
    path("imports/", include("baton.imports.urls")),
    path("", include((compliance_public, "compliance_public"))),
    path("", include((public_urlpatterns, "public"))),
    path("", core_views.home, name="home"),
]
