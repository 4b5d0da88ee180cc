"""Exit interview pages: the interviews of a case (start, the employee's link, the summary),
one interview (HR records and completes it; the leaver answers their own; others see only
whether it is done), the question banks (draft, publish) and the public link page the employee
opens without an account.

Views are thin: fetch through authz (404 outside what the user may see), build the form from
the frozen questions, call the action and show its refusal on the form.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from baton.access import authz
from baton.access.authz import Perm
from baton.compliance import actions_interviews as actions
from baton.compliance import interviews as logic
from baton.compliance.interview_bank import SCALE_MAX, SCALE_MIN, ExitReason, QuestionKind
from baton.compliance.models import (
    ExitInterview,
    InterviewMode,
    InterviewState,
)
from baton.core.errors import ActionError, Conflict, InvalidInput
from baton.core.forms import apply_action_error
from baton.core.http import AuthedRequest
from baton.handover.models import ExitCase
from baton.handover.rules import is_leaver, manages_case

NEW_LINK_SESSION_KEY = "compliance_new_interview_link"
YES_NO_UNSET = [("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

# ---------------------------------------------------------------- forms


def answers_form(
    questions: list[dict[str, Any]], data: Any = None, initial: Any = None
) -> forms.Form:
    """A form with one field per frozen question (named `q_<key>`). Required answers are
    checked by the action, so its messages name the question."""
    form = forms.Form(data, initial={f"q_{k}": v for k, v in (initial or {}).items()})
    reasons = [("", "—"), *ExitReason.choices]
    for q in questions:
        label = logic.question_text(q) + (" *" if q.get("required") else "")
        opts = [(o["value"], _(o["label"])) for o in q.get("options") or []]
        help_text = _(q["help"]) if q.get("help") else ""
        kind = q["kind"]
        field: forms.Field
        if kind == QuestionKind.SINGLE:
            field = forms.ChoiceField(choices=opts, widget=forms.RadioSelect)
        elif kind == QuestionKind.MULTIPLE:
            field = forms.MultipleChoiceField(choices=opts, widget=forms.CheckboxSelectMultiple)
        elif kind == QuestionKind.SCALE:
            scale = [(str(n), str(n)) for n in range(SCALE_MIN, SCALE_MAX + 1)]
            field = forms.ChoiceField(
                choices=scale, widget=forms.RadioSelect(attrs={"class": "scale"})
            )
        elif kind == QuestionKind.TEXT:
            field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
        else:
            field = forms.ChoiceField(choices=reasons)
        field.required = False
        field.label = label
        field.help_text = help_text
        form.fields[f"q_{q['key']}"] = field
    form.fields["anonymous"] = forms.BooleanField(
        required=False,
        label=gettext_lazy("Use my answers in exit-reason analytics only anonymously"),
        help_text=gettext_lazy(
            "Analytics will then never name you, and show your answers only in groups of "
            "at least five people."
        ),
    )
    return form


def answers_of(form: forms.Form) -> dict[str, Any]:
    return {
        name[2:]: value
        for name, value in form.cleaned_data.items()
        if name.startswith("q_") and value not in (None, "", [])
    }


def _adapt(exc: ActionError) -> None:
    """The action names answers `answers.<key>`; the form's fields are `q_<key>`."""
    exc.field_errors = {
        (f"q_{k.removeprefix('answers.')}" if k.startswith("answers.") else k): v
        for k, v in exc.field_errors.items()
    }


def _tri(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _untri(value: str) -> bool | None:
    return None if value == "" else value == "yes"


class AssessmentForm(forms.Form):
    primary_reason = forms.ChoiceField(
        label=gettext_lazy("Main reason"), choices=[("", "—"), *ExitReason.choices], required=False
    )
    secondary_reason = forms.ChoiceField(
        label=gettext_lazy("Second reason"),
        choices=[("", "—"), *ExitReason.choices],
        required=False,
    )
    voluntary = forms.ChoiceField(
        label=gettext_lazy("Voluntary exit"),
        choices=YES_NO_UNSET,
        required=False,
        help_text=gettext_lazy("Suggested by the exit type; correct it if it does not fit."),
    )
    regrettable = forms.ChoiceField(
        label=gettext_lazy("Regrettable loss"), choices=YES_NO_UNSET, required=False
    )
    rehire_eligible = forms.ChoiceField(
        label=gettext_lazy("Eligible for rehire"), choices=YES_NO_UNSET, required=False
    )
    rehire_note = forms.CharField(
        label=gettext_lazy("Rehire note"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    hr_note = forms.CharField(
        label=gettext_lazy("HR notes (not shown to the employee)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class StartForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=InterviewMode.choices)


class LinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Employee's private email (optional)"), required=False
    )
    valid_days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"), min_value=1, max_value=60, initial=actions.LINK_DAYS
    )


class DraftForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    is_active = forms.BooleanField(label=gettext_lazy("In use"), required=False)
    questions = forms.CharField(
        label=gettext_lazy("Questions (JSON)"),
        widget=forms.Textarea(attrs={"rows": 24, "class": "mono"}),
        help_text=gettext_lazy(
            "A list of questions: key, text, kind (single, multiple, scale, text, "
            "primary_reason, secondary_reason), options ({value, label}) and required."
        ),
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the version"), required=False, max_length=500
    )


# ---------------------------------------------------------------- helpers


def _case(request: AuthedRequest, case_id: int) -> ExitCase:
    return authz.get_for(
        request.user,
        Perm.CASE_VIEW,
        ExitCase.objects.select_related("employee", "legal_entity"),
        pk=case_id,
    )


def _interview(request: AuthedRequest, pk: int) -> ExitInterview:
    qs = ExitInterview.objects.select_related(
        "case", "case__employee", "bank_version", "bank_version__bank", "conducted_by"
    )
    found = logic.interviews_visible(request.user, qs).filter(pk=pk).first()
    if found is None:
        raise Http404(_("Not found, or not visible to you."))
    return found


def _can_manage_case(user: Any, case: ExitCase) -> bool:
    return manages_case(user, case)


def _assessment_initial(interview: ExitInterview) -> dict[str, Any]:
    return {
        "primary_reason": interview.primary_reason,
        "secondary_reason": interview.secondary_reason,
        "voluntary": _tri(interview.voluntary),
        "regrettable": _tri(interview.regrettable),
        "rehire_eligible": _tri(interview.rehire_eligible),
        "rehire_note": interview.rehire_note,
        "hr_note": interview.hr_note,
    }


def _answer_rows(interview: ExitInterview) -> list[tuple[str, str]]:
    """(question, answer) as read by HR and auditors."""
    labels = dict(ExitReason.choices)
    rows = []
    for q in interview.bank_version.questions:
        value = interview.answers.get(q["key"])
        options = {o["value"]: _(o["label"]) for o in q.get("options") or []}
        if value in (None, "", []):
            shown = "—"
        elif q["kind"] in QuestionKind.reason_pickers():
            shown = str(labels.get(value, value))
        elif isinstance(value, list):
            shown = ", ".join(str(options.get(v, v)) for v in value)
        else:
            shown = str(options.get(value, value))
        rows.append((logic.question_text(q), shown))
    return rows


# ---------------------------------------------------------------- case interviews


@login_required
@require_http_methods(["GET", "POST"])
def case_interviews(request: AuthedRequest, case_id: int) -> HttpResponse:
    """The exit interview of a case: HR starts it and sends the link; everyone who sees the
    case sees whether it is done; HR and auditors open it."""
    case = _case(request, case_id)
    user = request.user
    manage = _can_manage_case(user, case)
    start_form = StartForm(request.POST if request.POST.get("op") == "start" else None)
    link_form = LinkForm(request.POST if request.POST.get("op") == "link" else None)
    interviews = list(
        logic.interviews_visible(
            user, ExitInterview.objects.select_related("bank_version__bank")
        ).filter(case=case)
    )
    if request.method == "POST":
        if not manage:
            raise PermissionDenied(_("Only HR who manage this exit case run its interview."))
        op = request.POST.get("op")
        try:
            if op == "start" and start_form.is_valid():
                actions.start_interview(
                    case, acting_user=user, mode=start_form.cleaned_data["mode"]
                )
                messages.success(request, _("The exit interview is started."))
                return redirect("compliance:case_interviews", case.pk)
            if op == "link" and link_form.is_valid() and interviews:
                _interview, raw = actions.send_link(
                    interviews[0],
                    acting_user=user,
                    email=link_form.cleaned_data["email"] or "",
                    valid_days=link_form.cleaned_data["valid_days"],
                )
                request.session[NEW_LINK_SESSION_KEY] = request.build_absolute_uri(
                    reverse("compliance_public:interview_link", args=[raw])
                )
                return redirect("compliance:case_interviews", case.pk)
        except ActionError as exc:
            apply_action_error(start_form if op == "start" else link_form, exc)
    readable = {i.pk for i in interviews if logic.can_read_answers(user, i)}
    return render(
        request,
        "compliance/interview_case.html",
        {
            "case": case,
            "interviews": interviews,
            "readable": readable,
            "manage": manage,
            "start_form": start_form,
            "link_form": link_form,
            "new_link": request.session.pop(NEW_LINK_SESSION_KEY, None),
            "own": is_leaver(user, case),
        },
        status=400 if request.method == "POST" else 200,
    )


# ---------------------------------------------------------------- one interview


@login_required
@require_http_methods(["GET", "POST"])
def interview_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    interview = _interview(request, pk)
    user = request.user
    questions = interview.bank_version.questions
    full = logic.can_read_answers(user, interview)
    own = logic.is_own_open(user, interview)
    manage = full and logic.can_manage(user, interview)
    if not (full or own):
        if request.method == "POST":
            raise PermissionDenied(_("You may see whether this interview is done, not change it."))
        # Managers and others who see the case: whether it is done, nothing more.
        return render(request, "compliance/interview_status.html", {"interview": interview})
    post = request.POST if request.method == "POST" else None
    record_answers = manage and interview.state == InterviewState.OPEN
    form = answers_form(questions, post, interview.answers) if (own or record_answers) else None
    assessment = AssessmentForm(post, initial=_assessment_initial(interview)) if manage else None
    if post is not None:
        if own:
            assert form is not None
            if form.is_valid():
                try:
                    actions.answer_own(
                        interview,
                        answers_of(form),
                        acting_user=user,
                        anonymous=form.cleaned_data["anonymous"],
                    )
                    messages.success(request, _("Thank you. Your answers are recorded."))
                    return redirect("compliance:interview", interview.pk)
                except ActionError as exc:
                    _adapt(exc)
                    apply_action_error(form, exc)
        elif manage:
            assert assessment is not None
            if assessment.is_valid() and (form is None or form.is_valid()):
                data = assessment.cleaned_data
                try:
                    actions.complete_interview(
                        interview,
                        acting_user=user,
                        answers=answers_of(form) if form is not None else None,
                        anonymous=(
                            True if form is not None and form.cleaned_data["anonymous"] else None
                        ),
                        primary_reason=data["primary_reason"],
                        secondary_reason=data["secondary_reason"],
                        voluntary=_untri(data["voluntary"]),
                        regrettable=_untri(data["regrettable"]),
                        rehire_eligible=_untri(data["rehire_eligible"]),
                        rehire_note=data["rehire_note"],
                        hr_note=data["hr_note"],
                    )
                    messages.success(request, _("The exit interview is recorded."))
                    return redirect("compliance:interview", interview.pk)
                except ActionError as exc:
                    _adapt(exc)
                    on_answers = any(k.startswith("q_") for k in exc.field_errors)
                    apply_action_error(
                        form if (on_answers and form is not None) else assessment, exc
                    )
        else:
            raise PermissionDenied(_("You may read this interview, not change it."))
    return render(
        request,
        "compliance/interview_detail.html",
        {
            "interview": interview,
            "case": interview.case,
            "full": full,
            "own": own,
            "manage": manage,
            "form": form,
            "assessment": assessment,
            "answer_rows": _answer_rows(interview) if full else [],
        },
        status=400 if post is not None else 200,
    )


# ---------------------------------------------------------------- question banks


@login_required
def bank_list(request: AuthedRequest) -> HttpResponse:
    if not logic.can_read_banks(request.user):
        raise PermissionDenied(_("You do not have permission to do this."))
    banks = (
        logic.banks_visible(request.user)
        .select_related("business_unit")
        .prefetch_related("versions")
    )
    return render(request, "compliance/interview_banks.html", {"banks": banks})


@login_required
@require_http_methods(["GET", "POST"])
def bank_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    bank = logic.banks_visible(request.user).filter(pk=pk).first()
    if bank is None:
        raise Http404(_("Not found, or not visible to you."))
    initial = {
        "name": bank.name,
        "is_active": bank.is_active,
        "questions": json.dumps(bank.draft, ensure_ascii=False, indent=2),
    }
    form = DraftForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            questions = json.loads(form.cleaned_data["questions"])
        except ValueError:
            form.add_error("questions", _("This is not valid JSON."))
        else:
            try:
                bank = actions.save_bank_draft(
                    bank,
                    acting_user=request.user,
                    questions=questions,
                    name=form.cleaned_data["name"],
                    is_active=form.cleaned_data["is_active"],
                )
                if request.POST.get("publish"):
                    version = actions.publish_bank(
                        bank, acting_user=request.user, note=form.cleaned_data["note"]
                    )
                    messages.success(
                        request, _("Version %(n)s is published.") % {"n": version.number}
                    )
                else:
                    messages.success(request, _("The draft is saved."))
                return redirect("compliance:interview_bank", bank.pk)
            except (InvalidInput, Conflict) as exc:
                apply_action_error(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
    return render(
        request,
        "compliance/interview_bank.html",
        {"bank": bank, "form": form, "versions": bank.versions.order_by("-number")},
        status=400 if request.method == "POST" else 200,
    )


# ---------------------------------------------------------------- the public link


def _link_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    invalid = isinstance(exc, InvalidInput)
    return render(
        request,
        "compliance/interview_link_error.html",
        {"message": exc.message, "invalid": invalid},
        status=404 if invalid else 410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def interview_link(request: HttpRequest, token: str) -> HttpResponse:
    """The page the employee opens from their interview link (no account): the questions, once.
    Used, expired or unknown links explain themselves (410 / 404)."""
    try:
        interview = actions.find_link(token)
    except ActionError as exc:
        return _link_error(request, exc)
    questions = interview.bank_version.questions
    form = answers_form(questions, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.answer_by_link(
                token, answers_of(form), anonymous=form.cleaned_data["anonymous"]
            )
        except InvalidInput as exc:
            if exc.status == 404:
                return _link_error(request, exc)
            _adapt(exc)
            apply_action_error(form, exc)
        except Conflict as exc:
            return _link_error(request, exc)
        else:
            return render(request, "compliance/interview_link_done.html", {})
    return render(
        request,
        "compliance/interview_link.html",
        {"form": form, "interview": interview, "company": interview.case.legal_entity.name},
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("cases/<int:case_id>/interview/", case_interviews, name="case_interviews"),
    path("interviews/<int:pk>/", interview_detail, name="interview"),
    path("interview-banks/", bank_list, name="interview_banks"),
    path("interview-banks/<int:pk>/", bank_detail, name="interview_bank"),
]
public_urlpatterns = [
    path("exit-interview/<str:token>/", interview_link, name="interview_link"),
]
