"""HTML pages for dispute screening (grid workers, phone first) and mediation cases (mediators).

Views parse forms, call mediation.services and read through mediation.selectors (which answer 404
outside the user's jurisdiction); the rules live in the services. Errors the services raise
(ValidationError, TransitionNotAllowed) go back onto the form and into a message. Pages with a map
carry no inline script: their configuration is a `json_script` element read by
mediation/static/mediation/map.js.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.gis.geos import MultiPolygon
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View
from django.views.generic import TemplateView

from accounts.models import AccessLog
from accounts.services import access_log_record
from grid.views import basemap_layers
from mediation import documents, forms, selectors
from mediation.models import (
    DISPUTE_TRANSITIONS,
    Agreement,
    Dispute,
    JudicialConfirmation,
    MediationCase,
)
from mediation.rights import role_require, role_rights
from mediation.services import cases as case_services
from mediation.services import screening

# Statuses from which a dispute can still be worked on ("update" is allowed): the open ones.
OPEN_DISPUTE_STATUSES = sorted(DISPUTE_TRANSITIONS["update"][0])
CLOSE_OUTCOMES = ["resolve", "stabilise", "fail", "divert"]
EVENT_LABELS = {
    "record": _lazy("登记纠纷"),
    "update": _lazy("更新纠纷信息"),
    "mediate": _lazy("转入调解"),
    "resolve": _lazy("已化解"),
    "stabilise": _lazy("已稳控"),
    "fail": _lazy("未化解"),
    "divert": _lazy("转入其他途径"),
    "reopen": _lazy("重新排查"),
    "open": _lazy("受理调解"),
    "assign": _lazy("指定调解员"),
    "refuse": _lazy("当事人拒绝调解"),
    "session": _lazy("调解"),
    "agree": _lazy("达成调解协议"),
    "sign": _lazy("当事人签名"),
    "seal": _lazy("调解组织盖章"),
    "effective": _lazy("调解协议生效"),
    "terminate": _lazy("终止调解"),
    "follow_up": _lazy("回访"),
    "confirm_apply": _lazy("申请司法确认"),
    "confirm_decide": _lazy("司法确认裁定"),
}
PAGE_SIZE = 50
ROUTE_LABELS = dict(forms.OTHER_ROUTE_CHOICES)


class StaffPage(LoginRequiredMixin):
    login_url = reverse_lazy("grid:login")


def apply_errors(request, form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form (by field where it names one) and in a message."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if form is not None and field in form.fields else None
            if form is not None:
                form.add_error(target, errors)
    elif form is not None:
        form.add_error(None, error.messages)
    messages.error(request, "；".join(str(m) for m in error.messages))


def event_rows(events, statuses) -> list[tuple]:
    """(event, action label, from-status label, to-status label) for the history table."""
    labels = dict(statuses.choices)
    return [
        (
            e,
            EVENT_LABELS.get(e.action, e.action),
            labels.get(e.from_status, e.from_status),
            labels.get(e.to_status, e.to_status),
        )
        for e in events
    ]


def choice_filter(request, name: str, choices) -> str:
    value = request.GET.get(name, "")
    return value if value in {c[0] for c in choices} else ""


# --- maps ------------------------------------------------------------------------------------


def cells_geojson(cells) -> dict:
    features = []
    for cell in cells:
        geom = cell.geom if isinstance(cell.geom, MultiPolygon) else MultiPolygon(cell.geom)
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geom.json),
                "properties": {"code": cell.code, "name": cell.name},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def cells_extent(cells) -> list[float] | None:
    extents = [c.geom.extent for c in cells]
    if not extents:
        return None
    return [
        min(e[0] for e in extents),
        min(e[1] for e in extents),
        max(e[2] for e in extents),
        max(e[3] for e in extents),
    ]


def map_strings() -> dict[str, str]:
    return {
        "locating": _("正在获取当前位置…"),
        "located": _("已获取当前位置（精度约 %(m)s 米）"),
        "noGeolocation": _("此浏览器不支持定位，请在地图上点选位置。"),
        "geolocationFailed": _("定位失败：%(reason)s。请在地图上点选位置。"),
        "picked": _("已在地图上选定位置"),
        "cellFound": _("所在网格：%(code)s %(name)s"),
        "cellMissing": _("该位置不在任何网格内"),
        "cellError": _("无法查询所在网格"),
        "dispute": _("纠纷"),
    }


def map_config(cells, *, pick: bool, disputes=()) -> dict:
    return {
        "cells": cells_geojson(cells),
        "extent": cells_extent(cells),
        "basemap": basemap_layers(),
        "pick": pick,
        "locateUrl": reverse("grid-api:locate"),
        "disputes": [
            {
                "lng": d.location.x,
                "lat": d.location.y,
                "label": f"#{d.pk} {d.get_category_display()} · {d.get_risk_level_display()}",
                "url": reverse("mediation:dispute-detail", args=[d.pk]),
                "risk": d.risk_level,
            }
            for d in disputes
            if d.location is not None
        ],
        "strings": map_strings(),
    }


# --- grid worker: home and disputes ------------------------------------------------------------


class HomeView(StaffPage, TemplateView):
    """我的网格: the worker's cells on a small map, the open rounds covering them, open disputes."""

    template_name = "mediation/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        cells = list(selectors.user_cells(user).order_by("code"))
        open_rounds = selectors.round_list(user).filter(status="open")
        if cells:
            open_rounds = [
                r for r in open_rounds if any(c.code.startswith(r.area_code) for c in cells)
            ]
        disputes = selectors.dispute_list(user).filter(status__in=OPEN_DISPUTE_STATUSES)
        if cells:
            disputes = disputes.filter(Q(recorded_by=user) | Q(cell__in=cells))
        disputes = list(disputes.select_related("cell")[:PAGE_SIZE])
        context.update(
            cells=cells,
            rounds=list(open_rounds),
            disputes=disputes,
            map_config=map_config(cells, pick=False, disputes=disputes),
            open_cases=selectors.mediation_list(user, {"mine": True})
            .filter(status__in=["accepted", "in_progress"])
            .count(),
            rights=role_rights(user),
        )
        return context


class DisputeListView(StaffPage, View):
    template_name = "mediation/dispute_list.html"

    def get(self, request):
        filters = {
            "status": choice_filter(request, "status", Dispute.Status.choices),
            "category": choice_filter(request, "category", Dispute.Category.choices),
            "risk_level": choice_filter(request, "risk_level", Dispute.Risk.choices),
        }
        if request.GET.get("mine") == "1":
            filters["mine"] = True
        active = {k: v for k, v in filters.items() if v}
        queryset = selectors.dispute_list(request.user, active).select_related("cell", "round")
        page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            self.template_name,
            {
                "page": page,
                "filters": filters,
                "statuses": Dispute.Status.choices,
                "categories": Dispute.Category.choices,
                "risks": Dispute.Risk.choices,
                "rights": role_rights(request.user),
            },
        )


class DisputeCreateView(StaffPage, View):
    """Record a dispute: the phone's position (WGS-84), a map click, or coordinates copied from
    AMap/WeChat (GCJ-02, converted by the service)."""

    template_name = "mediation/dispute_form.html"

    def rounds(self):
        return selectors.round_list(self.request.user).filter(status="open")

    def render_form(self, form, status=200):
        cells = list(selectors.user_cells(self.request.user).order_by("code"))
        return render(
            self.request,
            self.template_name,
            {"form": form, "cells": cells, "map_config": map_config(cells, pick=True)},
            status=status,
        )

    def get(self, request):
        role_require(request.user, "dispute_record")
        initial = {}
        if request.GET.get("round", "").isdigit():
            initial["round"] = int(request.GET["round"])
        return self.render_form(forms.DisputeRecordForm(rounds=self.rounds(), initial=initial))

    def post(self, request):
        role_require(request.user, "dispute_record")
        form = forms.DisputeRecordForm(request.POST, rounds=self.rounds())
        if not form.is_valid():
            return self.render_form(form, status=400)
        data = form.cleaned_data
        try:
            dispute = screening.dispute_record(
                actor=request.user,
                category=data["category"],
                party_count=data["party_count"],
                party_names=data["party_names"],
                description=data["description"],
                risk_level=data["risk_level"],
                location=form.location(),
                crs=data["crs"],
                address=data["address"],
                round=data["round"],
            )
        except ValidationError as error:
            apply_errors(request, form, error)
            return self.render_form(form, status=400)
        if dispute.cell_id:
            messages.success(
                request,
                _("已登记矛盾纠纷，所在网格：%(code)s %(name)s")
                % {"code": dispute.cell.code, "name": dispute.cell.name},
            )
        else:
            messages.success(request, _("已登记矛盾纠纷。"))
        return redirect("mediation:dispute-detail", pk=dispute.pk)


def dispute_context(request, dispute: Dispute, **overrides) -> dict:
    """The dispute page: a form for each step its status allows now and the user's roles may take."""
    rights = role_rights(request.user)
    outcomes = [o for o in CLOSE_OUTCOMES if dispute.can(o)] if rights["dispute_close"] else []
    visible_cases = set(
        selectors.mediation_list(request.user, {})
        .filter(dispute=dispute)
        .values_list("pk", flat=True)
    )
    context = {
        "dispute": dispute,
        "events": event_rows(dispute.events.select_related("actor"), Dispute.Status),
        "cases": [(c, c.pk in visible_cases) for c in dispute.mediation_cases.all()],
        "update_form": forms.DisputeUpdateForm.for_dispute(dispute)
        if dispute.can("update") and rights["dispute_update"]
        else None,
        "close_form": forms.DisputeCloseForm(outcomes=outcomes) if outcomes else None,
        "can_mediate": dispute.can("mediate") and rights["dispute_mediate"],
        "rights": rights,
        "petition_visible": False,
        "map_config": None,
    }
    if dispute.petition_id:
        from petitions.selectors import petition_get

        try:
            petition_get(request.user, dispute.petition_id)
            context["petition_visible"] = True
        except Http404:
            pass
    cells = [dispute.cell] if dispute.cell_id else []
    if cells or dispute.location is not None:
        context["map_config"] = map_config(cells, pick=False, disputes=[dispute])
    context.update(overrides)
    return context


class DisputeDetailView(StaffPage, View):
    template_name = "mediation/dispute_detail.html"

    def get(self, request, pk: int):
        dispute = selectors.dispute_get(request.user, pk)
        return render(request, self.template_name, dispute_context(request, dispute))


class DisputeUpdateView(StaffPage, View):
    def post(self, request, pk: int):
        dispute = selectors.dispute_get(request.user, pk)
        role_require(request.user, "dispute_update")
        form = forms.DisputeUpdateForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version")
            try:
                screening.dispute_update(
                    dispute=dispute, actor=request.user, expected_version=version, **data
                )
            except ValidationError as error:
                apply_errors(request, form, error)
            else:
                messages.success(request, _("纠纷信息已更新。"))
                return redirect("mediation:dispute-detail", pk=pk)
        context = dispute_context(request, dispute, update_form=form)
        return render(request, DisputeDetailView.template_name, context, status=400)


class DisputeCloseView(StaffPage, View):
    def post(self, request, pk: int):
        dispute = selectors.dispute_get(request.user, pk)
        role_require(request.user, "dispute_close")
        form = forms.DisputeCloseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                screening.dispute_close(
                    dispute=dispute,
                    actor=request.user,
                    outcome=data["outcome"],
                    diverted_to=data["diverted_to"],
                    note=data["note"],
                )
            except ValidationError as error:
                apply_errors(request, form, error)
            else:
                dispute.refresh_from_db()
                messages.success(
                    request,
                    _("纠纷状态：%(status)s") % {"status": dispute.get_status_display()},
                )
                return redirect("mediation:dispute-detail", pk=pk)
        context = dispute_context(request, dispute, close_form=form)
        return render(request, DisputeDetailView.template_name, context, status=400)


# --- mediation cases ---------------------------------------------------------------------------


class CaseOpenView(StaffPage, View):
    """Open a mediation case, from a dispute (?dispute=<pk>) or from a party's application."""

    template_name = "mediation/case_open.html"

    def dispute(self):
        pk = self.request.GET.get("dispute") or self.request.POST.get("dispute")
        if not pk:
            return None
        if not str(pk).isdigit():
            raise Http404
        return selectors.dispute_get(self.request.user, int(pk))

    @staticmethod
    def right(dispute) -> str:
        """As the API: the screening side may refer a dispute (disputes/<id>/mediate/); a case
        without one (a party's application) is opened by the mediators' side (cases/)."""
        return "case" if dispute is None else "dispute_mediate"

    def initial_parties(self, dispute) -> list[dict]:
        names = list(dispute.party_names) if dispute else []
        rows = [
            {"role": "applicant" if i == 0 else "respondent", "name": name}
            for i, name in enumerate(names)
        ]
        while len(rows) < 2:
            rows.append({"role": "applicant" if not rows else "respondent"})
        return rows

    def get(self, request):
        dispute = self.dispute()
        role_require(request.user, self.right(dispute))
        initial = {}
        if dispute is not None:
            initial = {
                "summary": dispute.description[:200],
                "source": "petition_office" if dispute.source == "petition" else "application",
            }
        form = forms.CaseOpenForm(user=request.user, initial=initial)
        if request.user in form.fields["mediators"].queryset:
            form.fields["mediators"].initial = [request.user.pk]
        formset = forms.PartyFormSet(prefix="party", initial=self.initial_parties(dispute))
        return self.render_page(form, formset, dispute)

    def render_page(self, form, formset, dispute, status=200):
        return render(
            request=self.request,
            template_name=self.template_name,
            context={"form": form, "formset": formset, "dispute": dispute},
            status=status,
        )

    def post(self, request):
        dispute = self.dispute()
        role_require(request.user, self.right(dispute))
        form = forms.CaseOpenForm(request.POST, user=request.user)
        formset = forms.PartyFormSet(request.POST, prefix="party")
        if not (form.is_valid() and formset.is_valid()):
            return self.render_page(form, formset, dispute, status=400)
        data = form.cleaned_data
        rows, parties = forms.parties_from(formset)
        try:
            case = case_services.mediation_open(
                actor=request.user,
                type=data["type"],
                source=data["source"],
                committee=data["committee"],
                summary=data["summary"],
                parties=parties,
                dispute=dispute,
                petition=dispute.petition if dispute is not None else None,
                mediators=list(data["mediators"]),
                accepted_at=data["accepted_at"],
            )
        except ValidationError as error:
            party_errors(formset, rows, error)
            apply_errors(request, form, error)
            return self.render_page(form, formset, dispute, status=400)
        messages.success(request, _("已受理调解案件 %(no)s。") % {"no": case.case_no})
        try:
            selectors.mediation_get(request.user, case.pk)
        except Http404:
            # Opened for another committee: the person who referred it keeps to the dispute.
            return (
                redirect("mediation:dispute-detail", pk=dispute.pk)
                if dispute
                else redirect("mediation:home")
            )
        return redirect("mediation:case-detail", pk=case.pk)


def party_errors(formset, rows: list[int], error: ValidationError) -> None:
    """Errors the service keys as "parties[i].field" go onto the formset row they came from."""
    for key, errors in getattr(error, "error_dict", {}).items():
        match = re.fullmatch(r"parties\[(\d+)\]\.(\w+)", key)
        if match and int(match[1]) < len(rows):
            form = formset.forms[rows[int(match[1])]]
            if match[2] in form.fields:
                form.add_error(match[2], errors)
        elif key == "parties":
            formset._non_form_errors = formset.error_class([m for e in errors for m in e.messages])


class CaseListView(StaffPage, View):
    template_name = "mediation/case_list.html"

    def get(self, request):
        filters = {
            "status": choice_filter(request, "status", MediationCase.Status.choices),
            "type": choice_filter(request, "type", MediationCase.Type.choices),
        }
        for flag in ("mine", "overdue"):
            if request.GET.get(flag) == "1":
                filters[flag] = True
        active = {k: v for k, v in filters.items() if v}
        queryset = selectors.mediation_list(request.user, active).select_related("committee")
        page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        today = timezone.localdate()
        rows = [(c, case_services.mediation_is_overdue(c, today=today)) for c in page]
        return render(
            request,
            self.template_name,
            {
                "page": page,
                "rows": rows,
                "filters": filters,
                "statuses": MediationCase.Status.choices,
                "types": MediationCase.Type.choices,
                "rights": role_rights(request.user),
            },
        )


def agreement_of(case: MediationCase) -> Agreement | None:
    try:
        return case.agreement
    except Agreement.DoesNotExist:
        return None


def confirmation_of(agreement: Agreement | None) -> JudicialConfirmation | None:
    if agreement is None:
        return None
    try:
        return agreement.confirmation
    except JudicialConfirmation.DoesNotExist:
        return None


def case_context(request, case: MediationCase, bound: dict | None = None) -> dict:
    """The case page: everything on it, and a form for each step its status allows now and the
    user's roles may take."""
    rights = role_rights(request.user)
    agreement = agreement_of(case)
    confirmation = confirmation_of(agreement)
    parties = list(case.parties.all())
    written = agreement is not None and agreement.form == Agreement.Form.WRITTEN
    effective = agreement is not None and agreement.effective_at is not None
    unsigned = (
        [p for p in parties if p.name in case_services.agreement_unsigned(agreement)]
        if written and not effective
        else []
    )
    action_forms = {
        "assign": (case.can("assign"), lambda: forms.AssignForm(case=case)),
        "refuse": (case.can("refuse"), lambda: forms.RefuseForm(case=case)),
        "session": (case.can("session"), forms.SessionForm),
        "agree": (case.can("agree") and agreement is None, forms.AgreementForm),
        "terminate": (case.can("terminate"), forms.TerminateForm),
        "seal": (
            case.can("sign") and written and agreement.sealed_at is None,
            forms.SealForm,
        ),
        "follow-up": (case.can("follow_up") and effective, forms.FollowUpForm),
        "confirm-apply": (
            case.can("confirm_apply") and effective and confirmation is None,
            forms.ConfirmationApplyForm,
        ),
        "confirm-decide": (
            case.can("confirm_decide")
            and confirmation is not None
            and confirmation.decision == "pending",
            forms.ConfirmationDecideForm,
        ),
    }
    bound = bound or {}
    shown = {
        name.replace("-", "_"): bound.get(name) or factory()
        for name, (allowed, factory) in action_forms.items()
        if allowed and rights[case_action_right(name)]
    }
    return {
        "case": case,
        "overdue": case_services.mediation_is_overdue(case, today=timezone.localdate()),
        "parties": parties,
        "mediators": list(case.mediators.all()),
        "sessions": list(case.sessions.all()),
        "agreement": agreement,
        "written": written,
        "effective": effective,
        "unsigned": unsigned if case.can("sign") and rights[case_action_right("sign")] else [],
        "follow_ups": list(agreement.follow_ups.all()) if agreement else [],
        "confirmation": confirmation,
        "confirmation_deadline": case_services.confirmation_due(agreement) if agreement else None,
        "route_labels": [str(ROUTE_LABELS.get(r, r)) for r in case.other_routes],
        "events": event_rows(case.events.select_related("actor"), MediationCase.Status),
        "forms": shown,
        "rights": rights,
    }


class CaseDetailView(StaffPage, View):
    template_name = "mediation/case_detail.html"

    def get(self, request, pk: int):
        case = selectors.mediation_get(request.user, pk)
        return render(request, self.template_name, case_context(request, case))


def _need_agreement(case: MediationCase) -> Agreement:
    agreement = agreement_of(case)
    if agreement is None:
        raise ValidationError(_("本案尚未达成调解协议。"))
    return agreement


def _need_confirmation(case: MediationCase):
    confirmation = confirmation_of(_need_agreement(case))
    if confirmation is None:
        raise ValidationError(_("尚未申请司法确认。"))
    return confirmation


def case_action_right(action: str) -> str:
    """The ACTION_ROLES right a step of a case needs (mediation.rights; the API's _CaseActionApi.right)."""
    return "case_follow_up" if action == "follow-up" else "case"


# action → (form class or factory taking the case, service call, success message)
CaseAction = tuple[Callable, Callable, str]
CASE_ACTIONS: dict[str, CaseAction] = {
    "assign": (
        lambda case, data=None: forms.AssignForm(data, case=case),
        lambda case, user, d: case_services.mediation_assign(
            case=case, actor=user, mediators=list(d["mediators"])
        ),
        _lazy("已指定调解员。"),
    ),
    "refuse": (
        lambda case, data=None: forms.RefuseForm(data, case=case),
        lambda case, user, d: case_services.mediation_refuse(
            case=case, actor=user, party_name=d["party_name"]
        ),
        _lazy("已记录当事人拒绝调解，案件终结。"),
    ),
    "session": (
        lambda case, data=None: forms.SessionForm(data),
        lambda case, user, d: case_services.mediation_session_add(case=case, actor=user, **d),
        _lazy("已添加调解记录。"),
    ),
    "agree": (
        lambda case, data=None: forms.AgreementForm(data),
        lambda case, user, d: case_services.mediation_agree(case=case, actor=user, **d),
        _lazy("已记录调解协议。"),
    ),
    "sign": (
        lambda case, data=None: forms.SignForm(data),
        lambda case, user, d: case_services.agreement_sign(
            agreement=_need_agreement(case), actor=user, party_name=d["party_name"]
        ),
        _lazy("已记录当事人签名。"),
    ),
    "seal": (
        lambda case, data=None: forms.SealForm(data),
        lambda case, user, d: case_services.agreement_seal(
            agreement=_need_agreement(case), actor=user
        ),
        _lazy("已加盖调解组织印章。"),
    ),
    "follow-up": (
        lambda case, data=None: forms.FollowUpForm(data),
        lambda case, user, d: case_services.follow_up_record(
            agreement=_need_agreement(case), actor=user, **d
        ),
        _lazy("已添加回访记录。"),
    ),
    "confirm-apply": (
        lambda case, data=None: forms.ConfirmationApplyForm(data),
        lambda case, user, d: case_services.confirmation_apply(
            agreement=_need_agreement(case), actor=user, **d
        ),
        _lazy("已记录司法确认申请。"),
    ),
    "confirm-decide": (
        lambda case, data=None: forms.ConfirmationDecideForm(data),
        lambda case, user, d: case_services.confirmation_decide(
            confirmation=_need_confirmation(case), actor=user, **d
        ),
        _lazy("已记录司法确认结果。"),
    ),
    "terminate": (
        lambda case, data=None: forms.TerminateForm(data),
        lambda case, user, d: case_services.mediation_terminate(
            case=case, actor=user, reason=d["reason"], other_routes=list(d["other_routes"])
        ),
        _lazy("调解已终止，已告知当事人其他途径。"),
    ),
}


class CaseActionView(StaffPage, View):
    """POST one step of a case; on an error the case page comes back with the form and message."""

    def post(self, request, pk: int, action: str):
        if action not in CASE_ACTIONS:
            raise Http404
        case = selectors.mediation_get(request.user, pk)
        role_require(request.user, case_action_right(action))
        make_form, run, done = CASE_ACTIONS[action]
        form = make_form(case, request.POST)
        if form.is_valid():
            try:
                run(case, request.user, form.cleaned_data)
            except ValidationError as error:
                apply_errors(request, form, error)
            else:
                messages.success(request, done)
                return redirect("mediation:case-detail", pk=pk)
        case.refresh_from_db()
        context = case_context(request, case, bound={action: form})
        return render(request, CaseDetailView.template_name, context, status=400)


# --- printable documents ---------------------------------------------------------------------


class DocumentView(StaffPage, View):
    """调解协议书 / 终止调解告知书 as a printable page, or as a PDF (WeasyPrint, CJK fonts)."""

    kind = ""
    pdf = False

    def get(self, request, pk: int):
        case = selectors.mediation_get(request.user, pk)
        try:
            if self.pdf:
                response = HttpResponse(
                    documents.document_pdf(case, self.kind), content_type="application/pdf"
                )
                filename = documents.document_filename(case, self.kind)
                response["Content-Disposition"] = f'inline; filename="{filename}"'
            else:
                response = HttpResponse(documents.document_html(case, self.kind))
        except documents.DocumentUnavailable as error:
            raise Http404(str(error)) from error
        # The documents name the parties: every view or download is in the access log (SPEC §7).
        access_log_record(
            user=request.user,
            action=AccessLog.Action.DOCUMENT_DOWNLOAD,
            obj=case,
            label=f"{case.case_no} {documents.document_title(case, self.kind)}",
            detail={"kind": self.kind, "format": "pdf" if self.pdf else "html"},
            request=request,
        )
        # Personal data: no shared caches, and the browser must not sniff the type.
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
