from __future__ import annotations

import functools
import operator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from baton.access import actions, authz
from baton.access.authz import Perm
from baton.access.models import ApiToken, Role, RoleAssignment, TokenScope, User
from baton.core.context import current as current_context
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.org.models import BusinessUnit, Department, LegalEntity


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput)


@require_http_methods(["GET", "POST"])
def login_view(request: AuthedRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    wait = 0
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = current_context().client_ip
        wait = actions.login_wait_seconds(username, ip)
        if wait:
            # Answered without checking the password: a guess sent early is not a guess.
            actions.record_login_failure(username, throttled=True, wait_seconds=wait)
            form.add_error(
                None,
                _("Too many failed attempts. Wait %(seconds)d s and try again.")
                % {"seconds": wait},
            )
        else:
            actions.count_login_attempt(username, ip)
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                actions.record_login_failure(username, throttled=False)
                form.add_error(None, _("Wrong username or password."))
            else:
                login(request, user)
                actions.record_login(user, ip)
                if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                    next_url = ""
                return redirect(next_url or "home")
    response = render(
        request, "access/login.html", {"form": form, "next": next_url}, status=429 if wait else 200
    )
    if wait:
        response["Retry-After"] = str(wait)
    return response


@require_POST
def logout_view(request: AuthedRequest) -> HttpResponse:
    if request.user.is_authenticated:
        actions.record_logout(request.user)
    logout(request)
    return redirect("login")


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=[("zh-hans", "简体中文"), ("en", "English")]
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=[
            (tz, tz)
            for tz in (
                "Asia/Shanghai",
                "Asia/Hong_Kong",
                "Asia/Singapore",
                "Asia/Tokyo",
                "Europe/London",
                "Europe/Berlin",
                "America/Los_Angeles",
                "America/New_York",
                "UTC",
            )
        ],
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    user: Any = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "time_zone": user.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_preferences(user, form.cleaned_data, acting_user=user)
        except ActionError as exc:
            apply_action_error(form, exc)
        else:
            return redirect("access:preferences")
    tokens = ApiToken.objects.filter(user=user).order_by("-id")
    return render(
        request,
        "access/preferences.html",
        {
            "form": form,
            "tokens": tokens,
            "token_scopes": TokenScope.choices,
            "new_token": request.session.pop("new_token", None),
        },
    )


@login_required
@require_POST
def create_token(request: AuthedRequest) -> HttpResponse:
    try:
        _token, raw = actions.create_token(
            request.user,
            request.POST.get("name", ""),
            request.POST.getlist("scopes"),
            acting_user=request.user,
        )
    except ActionError as exc:
        messages.error(
            request,
            " ".join(
                [exc.message, *functools.reduce(operator.iadd, exc.field_errors.values(), [])]
            ),
        )
    else:
        request.session["new_token"] = raw
    return redirect("access:preferences")


@login_required
@require_POST
def revoke_token(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first() or authz.get_for(
        request.user, Perm.USERS_MANAGE, ApiToken, pk=token_id
    )
    actions.revoke_token(token, acting_user=request.user)
    return redirect("access:preferences")


@login_required
def users(request: AuthedRequest) -> HttpResponse:
    authz.require(request.user, Perm.USERS_MANAGE)
    qs = authz.visible_to(request.user, Perm.USERS_MANAGE, User.objects.order_by("username"))
    assignments: dict[int, list[RoleAssignment]] = {}
    for a in RoleAssignment.objects.select_related("business_unit", "legal_entity", "department"):
        assignments.setdefault(a.user_id, []).append(a)
    rows = [(u, assignments.get(u.pk, [])) for u in qs.select_related("employee")[:500]]
    return render(
        request,
        "access/users.html",
        {
            "rows": rows,
            "role_choices": Role.choices,
            "business_units": BusinessUnit.objects.all(),
            "entities": LegalEntity.objects.all(),
            # Top two levels of each tree: deeper scopes are granted through the API.
            "departments": Department.objects.filter(path__regex=r"^/[0-9]+/([0-9]+/)?$"),
        },
    )


@login_required
@require_POST
def grant_role(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = authz.get_for(request.user, Perm.USERS_MANAGE, User, pk=user_id)
    scope = request.POST.get("scope", "")
    kind, _sep, ident = scope.partition(":")
    kwargs = {}
    if kind in ("business_unit", "legal_entity", "department") and ident.isdigit():
        kwargs[f"{kind}_id"] = int(ident)
    try:
        actions.grant_role(user, request.POST.get("role", ""), acting_user=request.user, **kwargs)
    except ActionError as exc:
        messages.error(
            request,
            " ".join(
                [exc.message, *functools.reduce(operator.iadd, exc.field_errors.values(), [])]
            ),
        )
    return redirect("access:users")


@login_required
@require_POST
def revoke_role(request: AuthedRequest, assignment_id: int) -> HttpResponse:
    assignment = authz.get_for(request.user, Perm.USERS_MANAGE, RoleAssignment, pk=assignment_id)
    actions.revoke_role(assignment, acting_user=request.user)
    return redirect("access:users")
