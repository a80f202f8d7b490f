"""Public tracking of a case by its petitioner (SPEC §3): receipt number + query code → status,
the next statutory deadline, the reply date and outcome, and a one-time rating.

No login. Never any personal data (names, identity numbers, phones, addresses, content,
location); a 检举控告 case shows only that it was received and when. A wrong code and an unknown
number get the same answer, so the page is no oracle for which receipt numbers exist; lookups are
rate limited per client IP.
"""

from __future__ import annotations

from django import forms
from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from petitions import deadlines
from petitions.models import Petition
from petitions.services.errors import TransitionNotAllowed
from petitions.services.intake import query_code_check, query_code_hash
from petitions.services.workflow import petition_evaluate

# At most TRACK_RATE_LIMIT lookups per client IP in TRACK_RATE_WINDOW seconds (fixed window).
TRACK_RATE_LIMIT = 10
TRACK_RATE_WINDOW = 600
GENERIC_ERROR = _("编号或查询码不正确")
RATE_LIMITED = _("查询过于频繁，请稍后再试。")
RECEIVED = _("已收到")


# --- Service ----------------------------------------------------------------------------------


def tracking_lookup(receipt_no: str, query_code: str) -> Petition | None:
    """The case with this receipt number if the query code matches, else None (for an unknown
    number as for a wrong code, after the same hashing work)."""
    receipt_no = (receipt_no or "").strip().upper()
    petition = Petition.objects.filter(receipt_no=receipt_no).first() if receipt_no else None
    if petition is None:
        query_code_hash(receipt_no, query_code or "")
        return None
    return petition if query_code_check(petition, query_code or "") else None


def tracking_may_rate(petition: Petition) -> bool:
    """The rating form is offered once a reply exists and until the petitioner has rated."""
    return (
        not petition.is_confidential
        and not petition.evaluation
        and petition.replied_at is not None
        and petition.can("evaluate")
    )


def tracking_status(petition: Petition) -> dict:
    """What the petitioner may see of a case (nothing but "received" for 检举控告)."""
    status = {
        "receipt_no": petition.receipt_no,
        "received_on": deadlines.local_date(petition.received_at),
        "status": "received",
        "status_label": str(RECEIVED),
        "next_deadline": None,
        "replied_at": None,
        "outcome": None,
        "outcome_label": None,
        "evaluated": None,
        "may_rate": False,
        "confidential": petition.is_confidential,
    }
    if petition.is_confidential:
        return status
    outcome = petition.rereview_outcome or petition.review_outcome or petition.outcome
    status.update(
        status=petition.status,
        status_label=str(petition.get_status_display()),
        next_deadline=_next_deadline(petition),
        replied_at=petition.replied_at,
        outcome=outcome or None,
        outcome_label=str(Petition.Outcome(outcome).label) if outcome else None,
        evaluated=bool(petition.evaluation),
        may_rate=tracking_may_rate(petition),
    )
    return status


def _next_deadline(petition: Petition) -> dict | None:
    found = deadlines.next_deadline(petition)
    if not found or found[1] is None:
        return None
    key, due = found
    return {
        "key": key,
        "label": str(Petition._meta.get_field(key).verbose_name),
        "date": due,
        "days_left": deadlines.days_left(due),
    }


def tracking_rate_limited(request) -> bool:
    """Count one lookup for the client's IP; True once the IP is over the limit in the window.

    The address is REMOTE_ADDR: a reverse proxy in front must set it (X-Forwarded-For is
    client-controlled and not trusted here).
    """
    key = f"track:ip:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=TRACK_RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=TRACK_RATE_WINDOW)
        count = 1
    return count > TRACK_RATE_LIMIT


# --- HTML -------------------------------------------------------------------------------------


class TrackForm(forms.Form):
    receipt_no = forms.CharField(label=_("信访编号"), max_length=30)
    query_code = forms.CharField(label=_("查询码"), max_length=16)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receipt_no"].widget.attrs.update(
            placeholder="XF-210204-2026-000123", autocomplete="off", spellcheck="false"
        )
        self.fields["query_code"].widget.attrs.update(autocomplete="off", spellcheck="false")


class RateForm(TrackForm):
    evaluation = forms.ChoiceField(
        label=_("您对办理结果的评价"),
        choices=Petition.Evaluation.choices,
        widget=forms.RadioSelect,
    )


def _too_many(request):
    response = render(request, "petitions/track/rate_limited.html", status=429)
    response["Retry-After"] = str(TRACK_RATE_WINDOW)
    return response


def _page(request, *, form, petition=None, error=None, message=None, status=200):
    context = {"form": form, "error": error, "message": message}
    if petition is not None:
        info = tracking_status(petition)
        context["info"] = info
        if info["next_deadline"] and info["next_deadline"]["days_left"] < 0:
            context["overdue_days"] = -info["next_deadline"]["days_left"]
        if info["may_rate"]:
            context["rate_form"] = RateForm(
                auto_id="rate_%s",
                initial={
                    "receipt_no": petition.receipt_no,
                    "query_code": form.cleaned_data["query_code"],
                },
            )
    return render(request, "petitions/track/lookup.html", context, status=status)


@never_cache
def track_lookup(request):
    """/track/: the lookup form; POST shows the case's progress."""
    if request.method != "POST":
        return _page(request, form=TrackForm())
    if tracking_rate_limited(request):
        return _too_many(request)
    form = TrackForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form)
    petition = tracking_lookup(form.cleaned_data["receipt_no"], form.cleaned_data["query_code"])
    if petition is None:
        return _page(request, form=form, error=GENERIC_ERROR)
    return _page(request, form=form, petition=petition)


@never_cache
@require_POST
def track_rate(request):
    """/track/rate/: the petitioner's one-time rating (满意 / 基本满意 / 不满意)."""
    if tracking_rate_limited(request):
        return _too_many(request)
    form = TrackForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form)
    petition = tracking_lookup(form.cleaned_data["receipt_no"], form.cleaned_data["query_code"])
    if petition is None:
        return _page(request, form=form, error=GENERIC_ERROR)
    evaluation = request.POST.get("evaluation", "")
    if not tracking_may_rate(petition):
        message = _("该事项目前不能评价或已经评价过。")
    elif evaluation not in Petition.Evaluation.values:
        message = _("请选择评价。")
    else:
        try:
            petition = petition_evaluate(petition=petition, evaluation=evaluation, actor=None)
            message = _("感谢您的评价。")
        except TransitionNotAllowed as e:  # rated meanwhile in another tab
            message = e.messages[0]
    return _page(request, form=form, petition=petition, message=message)


# --- JSON API ---------------------------------------------------------------------------------


class TrackQuerySerializer(serializers.Serializer):
    receipt_no = serializers.CharField(max_length=30, help_text=_("信访编号"))
    query_code = serializers.CharField(max_length=16, help_text=_("查询码"))


class TrackDeadlineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    date = serializers.DateField()
    days_left = serializers.IntegerField(help_text=_("剩余天数；0 为当天到期，负数为已超期"))


class TrackResultSerializer(serializers.Serializer):
    receipt_no = serializers.CharField()
    received_on = serializers.DateField(help_text=_("收到日期"))
    status = serializers.CharField(help_text=_("状态；检举控告类事项恒为 received"))
    status_label = serializers.CharField()
    next_deadline = TrackDeadlineSerializer(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(allow_null=True)
    outcome_label = serializers.CharField(allow_null=True)
    evaluated = serializers.BooleanField(allow_null=True)


class TrackErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class TrackApi(APIView):
    """GET /track/api/?receipt_no=&query_code= — the tracking page as JSON."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="track",
        summary=_("信访人查询办理进度"),
        description=_(
            "无需登录；凭信访编号和查询码查询状态、下一法定期限、答复日期与处理意见。"
            "不含任何个人信息；检举控告类事项只显示“已收到”。按来源 IP 限制查询频率。"
        ),
        parameters=[TrackQuerySerializer],
        responses={
            200: TrackResultSerializer,
            400: TrackErrorSerializer,
            404: OpenApiResponse(TrackErrorSerializer, description=str(GENERIC_ERROR)),
            429: OpenApiResponse(TrackErrorSerializer, description=str(RATE_LIMITED)),
        },
    )
    def get(self, request):
        if tracking_rate_limited(request):
            return Response(
                {"errors": {"non_field_errors": [str(RATE_LIMITED)]}},
                status=429,
                headers={"Retry-After": str(TRACK_RATE_WINDOW)},
            )
        query = TrackQuerySerializer(data=request.query_params)
        if not query.is_valid():
            errors = {k: [str(m) for m in v] for k, v in query.errors.items()}
            return Response({"errors": errors}, status=400)
        petition = tracking_lookup(**query.validated_data)
        if petition is None:
            return Response({"errors": {"non_field_errors": [str(GENERIC_ERROR)]}}, status=404)
        response = Response(TrackResultSerializer(tracking_status(petition)).data)
        response["Cache-Control"] = "no-store"
        return response
