"""Organisation UI: people (list, record, forms) and the structure. Views are thin: parse with a
form, call the action, show the result or the action's refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.org import actions, forms
from baton.org.api.people import employee_filters, employee_queryset
from baton.org.models import (
    Agreement,
    BusinessUnit,
    City,
    Department,
    Employee,
    EmployeeStatus,
    Group,
    LegalEntity,
    Position,
    PositionFamily,
)

PAGE_SIZE = 50
RECORD_KINDS = ("contract", "agreement", "event")


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def employees(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.EMPLOYEE_VIEW)
    qs = employee_filters(
        authz.visible_to(request.user, Perm.EMPLOYEE_VIEW, employee_queryset()), request
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "statuses": EmployeeStatus.choices,
        "business_units": BusinessUnit.objects.all(),
        "query": _without_page(request),
        "can_create": authz.has_perm(request.user, Perm.EMPLOYEE_CHANGE),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "employee-table":
        return render(request, "org/employees.html#table", ctx)
    return render(request, "org/employees.html", ctx)


@login_required
def employee(request: HttpRequest, pk: int) -> HttpResponse:
    emp = authz.get_for(
        request.user,
        Perm.EMPLOYEE_VIEW,
        employee_queryset().select_related("manager", "work_city"),
        pk=pk,
    )
    user = request.user
    records = authz.visible_to(user, Perm.RECORDS_VIEW, Employee.objects.filter(pk=pk)).exists()
    ctx: dict[str, Any] = {
        "e": emp,
        "records": records,
        "can_change": authz.visible_to(
            user, Perm.EMPLOYEE_CHANGE, Employee.objects.filter(pk=pk)
        ).exists(),
        "can_change_records": authz.visible_to(
            user, Perm.RECORDS_CHANGE, Employee.objects.filter(pk=pk)
        ).exists(),
    }
    if records:
        ctx["contracts"] = emp.contracts.select_related("legal_entity")
        ctx["agreements"] = emp.agreements.all()
        ctx["events"] = emp.lifecycle_events.order_by("-effective_date", "-id")[:100]
        ctx["contract_form"] = forms.ContractForm(prefix="c")
        ctx["agreement_form"] = forms.AgreementForm(prefix="a")
        ctx["event_form"] = forms.LifecycleEventForm(prefix="l")
    return render(request, "org/employee.html", ctx)


def _run_form(request: HttpRequest, form: forms.ActionForm, call: Any) -> Any:
    """Validate the form, then run the action; put its refusal on the form."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ActionError as exc:
        apply_action_error(form, exc)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def employee_create(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.EMPLOYEE_CHANGE)
    form = forms.EmployeeForm(request.POST or None)
    if request.method == "POST":
        emp = _run_form(
            request,
            form,
            lambda: actions.create_employee(form.action_data(), acting_user=request.user),
        )
        if emp is not None:
            return redirect("org:employee", emp.pk)
    return render(
        request,
        "org/form.html",
        {"form": form, "title": _("New employee"), "cancel": reverse("org:employees")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def employee_edit(request: HttpRequest, pk: int) -> HttpResponse:
    emp = authz.get_for(request.user, Perm.EMPLOYEE_CHANGE, Employee, pk=pk)
    form = forms.EmployeeForm(request.POST or None, instance=emp)
    if request.method == "POST":
        # Re-read a fresh copy: the bound form mutates `instance` while cleaning.
        fresh = Employee.objects.get(pk=pk)
        if (
            _run_form(
                request,
                form,
                lambda: actions.update_employee(
                    fresh, form.changed_data_for_action(), acting_user=request.user
                ),
            )
            is not None
        ):
            return redirect("org:employee", pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("Edit %(name)s") % {"name": emp.name},
            "cancel": reverse("org:employee", args=[pk]),
        },
    )


@login_required
@require_http_methods(["POST"])
def employee_record_add(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Add a contract, agreement or lifecycle event from the employee page."""
    if kind not in RECORD_KINDS:
        raise Http404
    emp = authz.get_for(request.user, Perm.RECORDS_CHANGE, Employee, pk=pk)
    record_forms: dict[str, tuple[type[forms.ActionForm], str, Callable[..., Any]]] = {
        "contract": (forms.ContractForm, "c", actions.create_contract),
        "agreement": (forms.AgreementForm, "a", actions.create_agreement),
        "event": (forms.LifecycleEventForm, "l", actions.record_lifecycle_event),
    }
    form_class, prefix, action = record_forms[kind]
    form = form_class(request.POST, request.FILES, prefix=prefix)
    kwargs: dict[str, Any] = {}
    if kind == "agreement":
        kwargs["document"] = request.FILES.get("a-document")
    done = _run_form(
        request,
        form,
        lambda: action(
            {**form.action_data(), "employee_id": emp.pk}, acting_user=request.user, **kwargs
        ),
    )
    if done is not None:
        return redirect("org:employee", pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("Add to %(name)s's record") % {"name": emp.name},
            "cancel": reverse("org:employee", args=[pk]),
            "multipart": kind == "agreement",
        },
        status=400,
    )


# ---------------------------------------------------------------- structure

STRUCTURE: dict[str, tuple[Any, Any, Any, Any]] = {
    "business-units": (
        BusinessUnit,
        forms.BusinessUnitForm,
        actions.create_business_unit,
        actions.update_business_unit,
    ),
    "legal-entities": (
        LegalEntity,
        forms.LegalEntityForm,
        actions.create_legal_entity,
        actions.update_legal_entity,
    ),
    "departments": (
        Department,
        forms.DepartmentForm,
        actions.create_department,
        actions.update_department,
    ),
    "positions": (Position, forms.PositionForm, actions.create_position, actions.update_position),
    "position-families": (
        PositionFamily,
        forms.PositionFamilyForm,
        actions.create_position_family,
        None,
    ),
    "cities": (City, forms.CityForm, actions.create_city, actions.update_city),
}


@login_required
def structure(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.ORG_VIEW)
    return render(
        request,
        "org/structure.html",
        {
            "business_units": BusinessUnit.objects.select_related("city"),
            "entities": LegalEntity.objects.select_related("business_unit", "city"),
            "departments": Department.objects.select_related("business_unit", "head"),
            "families": PositionFamily.objects.all(),
            "positions": Position.objects.select_related("family", "department"),
            "cities": City.objects.all(),
            "group": Group.objects.first(),
            "can_manage": authz.has_perm(request.user, Perm.ORG_MANAGE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def structure_edit(request: HttpRequest, kind: str, pk: int | None = None) -> HttpResponse:
    if kind not in STRUCTURE:
        raise Http404
    authz.require(request.user, Perm.ORG_MANAGE)
    model, form_class, create, update = STRUCTURE[kind]
    obj = authz.get_for(request.user, Perm.ORG_MANAGE, model, pk=pk) if pk else None
    if obj is not None and update is None:
        return redirect("org:structure")
    form = form_class(request.POST or None, instance=obj)
    if obj is not None:
        for locked in ("code", "business_unit") if kind == "departments" else ("code",):
            if locked in form.fields:
                form.fields[locked].disabled = True
    if request.method == "POST":
        if obj is None:
            done = _run_form(
                request, form, lambda: create(form.action_data(), acting_user=request.user)
            )
        else:
            fresh = model.objects.get(pk=pk)
            done = _run_form(
                request,
                form,
                lambda: update(fresh, form.changed_data_for_action(), acting_user=request.user),
            )
        if done is not None:
            return redirect(reverse("org:structure") + f"#{kind}")
    title = model._meta.verbose_name
    return render(
        request,
        "org/form.html",
        {"form": form, "title": str(title).capitalize(), "cancel": reverse("org:structure")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_settings(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, Perm.ORG_MANAGE)
    group = Group.objects.get()
    form = forms.GroupForm(request.POST or None, instance=group)
    if request.method == "POST":
        fresh = Group.objects.get(pk=group.pk)
        if (
            _run_form(
                request,
                form,
                lambda: actions.update_group(
                    fresh, form.changed_data_for_action(), acting_user=request.user
                ),
            )
            is not None
        ):
            return redirect("org:structure")
    return render(
        request,
        "org/form.html",
        {"form": form, "title": _("Group settings"), "cancel": reverse("org:structure")},
    )


@login_required
def agreement_document(request: HttpRequest, pk: int) -> FileResponse:
    """Download a signed agreement's document; every view is audited."""
    agreement = authz.get_for(request.user, Perm.RECORDS_VIEW, Agreement, pk=pk)
    if not agreement.document:
        raise Http404
    actions.record_document_view(agreement, acting_user=request.user)
    return FileResponse(
        agreement.document.open("rb"),
        as_attachment=True,
        filename=(agreement.document.name or "document").rsplit("/", 1)[-1],
    )
