"""The dashboard's URLs. Every view needs a login (LoginRequiredMiddleware) except the login page itself, the
static files, the API (a token instead) and /metrics (an allowed address, a session or a token);
tests/receiver/test_web_access.py walks this list, so a new URL is refused to strangers or fails that test."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles.views import serve
from django.urls import path, re_path

from tkalert.receiver.web import admin as _admin  # noqa: F401  (registers the models)
from tkalert.receiver.web import api, metrics, pages


@login_not_required
def static(request, path):
    # the dashboard's CSS and the admin's, from the installed packages; no directory listing
    return serve(request, path, insecure=True)


admin.site.site_header = admin.site.site_title = "tkalert receiver"
admin.site.site_url = "/"

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("systems/<int:pk>/", pages.system_detail, name="system"),
    path("systems/<int:pk>/files/<int:file_pk>/", pages.report_file, name="report-file"),
    path("messages/<int:pk>/raw", pages.message_raw, name="message-raw"),
    path("quarantine/", pages.quarantine_list, name="quarantine"),
    path("quarantine/action", pages.quarantine_action, name="quarantine-action"),
    path("contracts/", pages.contracts, name="contracts"),
    path("login/", auth.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/systems", api.systems, name="api-systems"),
    path("api/v1/systems/<str:system_id>", api.system, name="api-system"),
    path("api/v1/episodes", api.episodes, name="api-episodes"),
    path("api/v1/quarantine", api.quarantine, name="api-quarantine"),
    path("metrics", metrics.metrics, name="metrics"),
    re_path(r"^static/(?P<path>.+)$", static, name="static"),
]
