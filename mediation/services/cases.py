"""The mediation case (《人民调解法》第四、五章): accept → assign → sessions → agreement (written or
oral) or refusal / termination → follow-ups and judicial confirmation.

Every step locks the case, checks MEDIATION_TRANSITIONS, saves with update_fields and writes a
MediationEvent in the same transaction (`_case_step`). Outcomes reach the linked dispute through
dispute_close and the linked petition through the petition services, in the same transaction.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from mediation.models import (
    MEDIATION_TRANSITIONS,
    Agreement,
    Dispute,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    MediationEvent,
    MediationParty,
    MediationSession,
)
from mediation.services.errors import Conflict, TransitionNotAllowed
from mediation.services.screening import (
    _dispute_step,
    day,
    dispute_close,
    moment,
    not_allowed,
    required_text,
)
from petitions import deadlines
from petitions.models import Organization, Petition

Status = MediationCase.Status
OPEN_STATUSES = (Status.ACCEPTED, Status.IN_PROGRESS)
CONFIRMATION_DAYS = 30  # 第三十三条: joint application within 30 days of the agreement's effect
OTHER_ROUTES = Dispute.Diversion  # 诉讼 / 仲裁 / 行政处理 / 信访 (第二十六条)


# --- Dates --------------------------------------------------------------------------------------


def add_month(day_: dt.date) -> dt.date:
    """One calendar month later, clamped to the month's end (1-31 → 2-28/29)."""
    year, month = (day_.year + 1, 1) if day_.month == 12 else (day_.year, day_.month + 1)
    return day_.replace(
        year=year, month=month, day=min(day_.day, calendar.monthrange(year, month)[1])
    )


def confirmation_due(agreement: Agreement) -> dt.date | None:
    """The last day for a joint application for judicial confirmation (None until effective)."""
    if agreement.effective_at is None:
        return None
    return deadlines.local_date(agreement.effective_at) + dt.timedelta(days=CONFIRMATION_DAYS)


def agreement_unsigned(agreement: Agreement) -> list[str]:
    """Parties (by name) who have not signed the written agreement yet."""
    signed = set(agreement.signed_by)
    return [p.name for p in agreement.case.parties.all() if p.name not in signed]


def mediation_is_overdue(case: MediationCase, today: dt.date | None = None) -> bool:
    """Open past the one-month target (司法部《人民调解工作若干规定》第三十六条): a flag only."""
    today = today or deadlines.local_date(timezone.now())
    return case.status in OPEN_STATUSES and today > case.target_due


# --- The step ----------------------------------------------------------------------------------


def _case_step(
    case: MediationCase | int,
    action: str,
    actor,
    apply: Callable[[MediationCase, dt.datetime], dict | None] | None = None,
    *,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
    payload: dict | None = None,
    event: str | None = None,
) -> MediationCase:
    """Lock the case, check the map for `action`, apply, save and write the event (`event` names
    it when it differs from the map's action, e.g. "seal" is checked as "sign")."""
    now = now or timezone.now()
    pk = case.pk if isinstance(case, MediationCase) else case
    with transaction.atomic():
        c = MediationCase.objects.select_for_update().get(pk=pk)
        if expected_version is not None and c.version != expected_version:
            raise Conflict()
        allowed, to_status = MEDIATION_TRANSITIONS[action]
        if c.status not in allowed:
            raise not_allowed(c.get_status_display())
        before = {f.attname: getattr(c, f.attname) for f in c._meta.concrete_fields}
        from_status = c.status
        extra = (apply(c, now) if apply else None) or {}
        if to_status:
            c.status = to_status
        c.version += 1
        changed = [
            f.name for f in c._meta.concrete_fields if getattr(c, f.attname) != before[f.attname]
        ]
        c.save(update_fields=changed)
        MediationEvent.objects.create(
            case=c,
            actor=actor,
            at=now,
            action=event or action,
            from_status=from_status,
            to_status=c.status,
            payload={**(payload or {}), **extra},
        )
    return c


def _petition_note(petition_id: int | None, actor, text: str) -> bool:
    """A note on the linked petition, if it still takes notes (a closed one does not)."""
    from petitions.services.workflow import petition_add_note

    if not petition_id:
        return False
    p = Petition.objects.get(pk=petition_id)
    if not p.can("note"):
        return False
    petition_add_note(petition=p, actor=actor, text=text)
    return True


def _dispute_fails(case: MediationCase, actor, now: dt.datetime, note: str) -> None:
    """Mediation refused or terminated: the linked dispute is 未化解 (if it is still open)."""
    if case.dispute_id and Dispute.objects.get(pk=case.dispute_id).can("fail"):
        dispute_close(dispute=case.dispute, actor=actor, outcome="fail", note=note, now=now)


# --- Opening ------------------------------------------------------------------------------------


def _clean_parties(parties) -> list[dict]:
    errors: dict[str, list[str]] = {}
    rows, seen = [], set()
    for i, raw in enumerate(parties or []):
        row = {k: str(raw.get(k) or "").strip() for k in ("role", "name", "phone", "address")}
        if row["role"] not in MediationParty.Role.values:
            errors[f"parties[{i}].role"] = [_("请选择当事人身份（申请人或被申请人）。")]
        if not row["name"]:
            errors[f"parties[{i}].name"] = [_("请填写当事人姓名或名称。")]
        elif row["name"] in seen:
            # Signatures are recorded by name: two parties may not share one.
            errors[f"parties[{i}].name"] = [_("当事人姓名重复，请加以区分。")]
        for key, limit in (("name", 100), ("phone", 20), ("address", 200)):
            if len(row[key]) > limit:
                errors[f"parties[{i}].{key}"] = [_("不能超过%(n)d个字。") % {"n": limit}]
        seen.add(row["name"])
        rows.append(row)
    roles = {r["role"] for r in rows}
    if not errors and not {"applicant", "respondent"} <= roles:
        errors["parties"] = [_("至少需要一名申请人和一名被申请人。")]
    if errors:
        raise ValidationError(errors)
    return rows


def _case_no(area_code: str, accepted_at: dt.datetime) -> str:
    prefix = f"TJ-{area_code[:6]}-{deadlines.local_date(accepted_at).year}-"
    last = (
        MediationCase.objects.filter(case_no__startswith=prefix)
        .order_by("-case_no")
        .values_list("case_no", flat=True)
        .first()
    )
    return f"{prefix}{int(last.rsplit('-', 1)[1]) + 1 if last else 1:05d}"


def _insert_case(fields: dict, accepted_at: dt.datetime) -> MediationCase:
    """Insert with the next case number; a concurrent insert taking it first means retry."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case_no = _case_no(fields["area_code"], accepted_at)
                return MediationCase.objects.create(case_no=case_no, **fields)
        except IntegrityError:
            continue
    raise Conflict()


def mediation_open(
    *,
    actor,
    type: str,
    source: str,
    committee: Organization,
    summary: str,
    parties: list[dict],
    dispute: Dispute | None = None,
    petition: Petition | None = None,
    mediators: Iterable = (),
    accepted_at: dt.datetime | None = None,
) -> MediationCase:
    """受理调解 (第十七、十八条): open a case, from a dispute and/or petition (linked back)."""
    errors: dict[str, list[str]] = {}
    if type not in MediationCase.Type.values:
        errors["type"] = [_("请选择调解类型。")]
    if source not in MediationCase.Source.values:
        errors["source"] = [_("请选择案件来源。")]
    if not isinstance(committee, Organization) or not committee.is_active:
        errors["committee"] = [_("请选择调解组织。")]
    elif type == MediationCase.Type.PEOPLE and committee.kind != Organization.Kind.COMMITTEE:
        errors["committee"] = [_("人民调解应由人民调解委员会受理。")]
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = [_("请填写纠纷简要情况。")]
    elif len(summary) > 200:
        errors["summary"] = [_("不能超过%(n)d个字。") % {"n": 200}]
    try:
        rows = _clean_parties(parties)
    except ValidationError as e:
        errors.update(e.message_dict)
    try:
        accepted_at = moment(accepted_at, "accepted_at")
    except ValidationError as e:
        errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)
    mediators = list(mediators or ())
    with transaction.atomic():
        if dispute is not None:
            dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
            if not dispute.can("mediate"):
                raise not_allowed(dispute.get_status_display())
            petition = petition or dispute.petition
        if petition is not None and petition.is_confidential:
            raise TransitionNotAllowed(_("检举控告类信访事项不能调解。"), code="confidential")
        area_code = (
            (dispute.area_code if dispute else "")
            or (petition.area_code if petition else "")
            or committee.area_code
            or settings.CIVICGRID_DISTRICT_CODE
        )
        case = _insert_case(
            {
                "type": type,
                "source": source,
                "committee": committee,
                "dispute": dispute,
                "petition": petition,
                "summary": summary,
                "area_code": area_code,
                "accepted_at": accepted_at,
                "target_due": add_month(deadlines.local_date(accepted_at)),
            },
            accepted_at,
        )
        MediationParty.objects.bulk_create(MediationParty(case=case, **row) for row in rows)
        if mediators:
            case.mediators.set(mediators)
        MediationEvent.objects.create(
            case=case,
            actor=actor,
            at=accepted_at,
            action="open",
            from_status="",
            to_status=case.status,
            payload={
                "type": type,
                "source": source,
                "committee": committee.pk,
                "dispute": dispute.pk if dispute else None,
                "petition": petition.pk if petition else None,
                "mediators": [u.pk for u in mediators],
                "target_due": case.target_due.isoformat(),
            },
        )
        if dispute is not None:
            _dispute_step(
                dispute,
                "mediate",
                actor,
                now=accepted_at,
                payload={"case": case.pk, "case_no": case.case_no},
            )
        with override(settings.LANGUAGE_CODE):  # stored text: in the records' language
            note = _("已转入调解，案号%(no)s（%(committee)s）。") % {
                "no": case.case_no,
                "committee": committee.name,
            }
        _petition_note(petition.pk if petition else None, actor, note)
    return case


# --- Steps of an open case --------------------------------------------------------------------


def mediation_assign(
    *, case: MediationCase, actor, mediators: Iterable, expected_version: int | None = None
) -> MediationCase:
    """指定调解员 (第十九条): one or more mediators, replacing the current ones."""
    mediators = list(mediators or ())
    if not mediators:
        raise ValidationError({"mediators": [_("请至少指定一名调解员。")]})

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        c.mediators.set(mediators)
        return {"mediators": [u.pk for u in mediators]}

    return _case_step(case, "assign", actor, apply, expected_version=expected_version)


def mediation_refuse(
    *,
    case: MediationCase,
    actor,
    party_name: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> MediationCase:
    """当事人拒绝调解 (第十七条): mediation ends; the linked dispute is 未化解."""
    now = moment(now, "now")
    if not case.parties.filter(name=party_name).exists():
        raise ValidationError({"party_name": [_("请选择本案的当事人。")]})

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        c.refused_by = party_name
        c.concluded_at = now
        return {}

    with transaction.atomic():
        case = _case_step(
            case,
            "refuse",
            actor,
            apply,
            now=now,
            expected_version=expected_version,
            payload={"party_name": party_name},
        )
        with override(settings.LANGUAGE_CODE):
            note = _("当事人%(name)s拒绝调解（案号%(no)s）。") % {
                "name": party_name,
                "no": case.case_no,
            }
        _dispute_fails(case, actor, now, note)
        _petition_note(case.petition_id, actor, note)
    return case


def mediation_session_add(
    *,
    case: MediationCase,
    actor,
    held_at: dt.datetime,
    place: str,
    attendees: str | list[str],
    notes: str = "",
    expected_version: int | None = None,
) -> MediationSession:
    """调解记录 (第二十七条): a session held — time, place, attendees, notes."""
    held_at = moment(held_at, "held_at")
    if isinstance(attendees, list | tuple):
        attendees = "、".join(str(a).strip() for a in attendees if str(a).strip())
    place = required_text(place, "place", _("请填写调解地点。"), 100)
    attendees = required_text(attendees, "attendees", _("请填写参加人员。"))
    if deadlines.local_date(held_at) < deadlines.local_date(case.accepted_at):
        raise ValidationError({"held_at": [_("调解时间不能早于受理日期。")]})
    created: list[MediationSession] = []

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        s = MediationSession.objects.create(
            case=c, held_at=held_at, place=place, attendees=attendees, notes=notes or ""
        )
        created.append(s)
        return {"session": s.pk}

    _case_step(case, "session", actor, apply, now=held_at, expected_version=expected_version)
    return created[0]


# --- Agreement ----------------------------------------------------------------------------------


def _take_effect(agreement: Agreement, case: MediationCase, actor, at: dt.datetime) -> None:
    """The agreement is in force: record it, resolve the dispute, settle the petition."""
    from petitions.services.workflow import petition_close, petition_reply

    if agreement.effective_at != at:
        agreement.effective_at = at
        agreement.save(update_fields=["effective_at"])
    MediationEvent.objects.create(
        case=case,
        actor=actor,
        at=at,
        action="effective",
        from_status=case.status,
        to_status=case.status,
        payload={
            "agreement": agreement.pk,
            "form": agreement.form,
            "confirmation_due": confirmation_due(agreement).isoformat(),
        },
    )
    # Texts stored in the records (the reply goes into the 处理意见书): the records' language.
    with override(settings.LANGUAGE_CODE):
        dispute_note = _("调解协议生效（案号%(no)s）。") % {"no": case.case_no}
        reply = _("经调解达成协议：%(terms)s") % {"terms": agreement.terms}
        petition_note = _("调解协议已生效（案号%(no)s）：%(terms)s") % {
            "no": case.case_no,
            "terms": agreement.terms,
        }
    if case.dispute_id and Dispute.objects.get(pk=case.dispute_id).can("resolve"):
        dispute_close(
            dispute=case.dispute, actor=actor, outcome="resolve", note=dispute_note, now=at
        )
    if not case.petition_id:
        return
    p = Petition.objects.get(pk=case.petition_id)
    if p.status == Petition.Status.HANDLING:
        p = petition_reply(petition=p, actor=actor, outcome="support", text=reply, now=at)
        petition_close(petition=p, actor=actor, now=at)
    else:
        _petition_note(p.pk, actor, petition_note)


def mediation_agree(
    *,
    case: MediationCase,
    actor,
    form: str,
    facts: str,
    terms: str,
    performance_manner: str,
    performance_deadline: dt.date | None = None,
    reached_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Agreement:
    """调解成功 (第二十八至三十条): an oral agreement is effective when reached; a written one when
    every party has signed and the committee has sealed it (agreement_sign / agreement_seal)."""
    errors: dict[str, list[str]] = {}
    if form not in Agreement.Form.values:
        errors["form"] = [_("请选择协议形式（书面或口头）。")]
    for field, value, message, limit in (
        ("facts", facts, _("请填写纠纷主要事实与争议事项。"), None),
        ("terms", terms, _("请填写协议内容。"), None),
        ("performance_manner", performance_manner, _("请填写履行方式。"), 200),
    ):
        try:
            required_text(value, field, message, limit)
        except ValidationError as e:
            errors.update(e.message_dict)
    try:
        reached_at = moment(reached_at, "reached_at")
        if deadlines.local_date(reached_at) < deadlines.local_date(case.accepted_at):
            errors["reached_at"] = [_("达成时间不能早于受理日期。")]
        if performance_deadline is not None and (
            not isinstance(performance_deadline, dt.date)
            or isinstance(performance_deadline, dt.datetime)
            or performance_deadline < deadlines.local_date(reached_at)
        ):
            errors["performance_deadline"] = [_("履行期限不能早于协议达成日期。")]
    except ValidationError as e:
        errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)
    created: list[Agreement] = []

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        a = Agreement.objects.create(
            case=c,
            form=form,
            facts=facts.strip(),
            terms=terms.strip(),
            performance_manner=performance_manner.strip(),
            performance_deadline=performance_deadline,
            reached_at=reached_at,
            effective_at=reached_at if form == Agreement.Form.ORAL else None,
        )
        c.concluded_at = reached_at
        created.append(a)
        return {"agreement": a.pk, "form": form}

    with transaction.atomic():
        case = _case_step(
            case, "agree", actor, apply, now=reached_at, expected_version=expected_version
        )
        agreement = created[0]
        if form == Agreement.Form.ORAL:
            _take_effect(agreement, case, actor, reached_at)
    return agreement


def _agreement_step(
    agreement: Agreement,
    actor,
    event: str,
    apply: Callable[[Agreement], dict],
    *,
    now: dt.datetime | None,
    expected_version: int | None,
) -> Agreement:
    """Sign or seal a written agreement; when it is complete, it takes effect at the later of
    the last signature and the seal (第二十九条)."""
    now = moment(now, "now")
    if agreement.form != Agreement.Form.WRITTEN:
        raise TransitionNotAllowed(_("口头协议自达成之日起生效，无需签名盖章。"), code="oral")
    if now < agreement.reached_at:
        raise ValidationError({"now": [_("签名、盖章时间不能早于协议达成时间。")]})
    with transaction.atomic():

        def locked_apply(c: MediationCase, now: dt.datetime) -> dict:
            a = Agreement.objects.select_for_update().get(pk=agreement.pk)
            return {"agreement": a.pk, **apply(a)}

        case = _case_step(
            agreement.case_id,
            "sign",
            actor,
            locked_apply,
            now=now,
            expected_version=expected_version,
            event=event,
        )
        a = Agreement.objects.get(pk=agreement.pk)
        if a.sealed_at and not agreement_unsigned(a):
            signed = MediationEvent.objects.filter(case=case, action="sign").values_list(
                "at", flat=True
            )
            _take_effect(a, case, actor, max([a.sealed_at, *signed]))
            a.refresh_from_db()
    return a


def agreement_sign(
    *,
    agreement: Agreement,
    actor,
    party_name: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Agreement:
    """A party signs (签名、盖章或者按指印) the written agreement."""

    def apply(a: Agreement) -> dict:
        if not a.case.parties.filter(name=party_name).exists():
            raise ValidationError({"party_name": [_("签名人不是本案当事人。")]})
        if party_name in a.signed_by:
            raise TransitionNotAllowed(
                _("%(name)s已经签名。") % {"name": party_name}, code="signed"
            )
        a.signed_by = [*a.signed_by, party_name]
        a.save(update_fields=["signed_by"])
        return {"party_name": party_name}

    return _agreement_step(
        agreement, actor, "sign", apply, now=now, expected_version=expected_version
    )


def agreement_seal(
    *,
    agreement: Agreement,
    actor,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Agreement:
    """The mediator signs and the committee seals the written agreement (once)."""

    now = moment(now, "now")

    def apply(a: Agreement) -> dict:
        if a.sealed_at:
            raise TransitionNotAllowed(_("调解协议书已经盖章。"), code="sealed")
        a.sealed_at = now
        a.save(update_fields=["sealed_at"])
        return {}

    return _agreement_step(
        agreement, actor, "seal", apply, now=now, expected_version=expected_version
    )


# --- Failure ------------------------------------------------------------------------------------


def _routes(values) -> list[str]:
    """Route codes from codes or their Chinese labels (诉讼/仲裁/行政/信访), in the given order."""
    by_label = {str(label): code for code, label in OTHER_ROUTES.choices}
    by_label["行政"] = OTHER_ROUTES.ADMINISTRATIVE
    out: list[str] = []
    for v in [values] if isinstance(values, str) else values or []:
        code = v if v in OTHER_ROUTES.values else by_label.get(str(v).strip())
        if code is None:
            raise ValidationError({"other_routes": [_("未知的途径：%(v)s") % {"v": v}]})
        if code not in out:
            out.append(code)
    if not out:
        raise ValidationError({"other_routes": [_("请至少选择一种告知当事人的其他途径。")]})
    return out


def mediation_terminate(
    *,
    case: MediationCase,
    actor,
    reason: str,
    other_routes: list[str],
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> MediationCase:
    """终止调解 (第二十六条): mediation failed; the parties are told of the other routes."""
    now = moment(now, "now")
    reason = required_text(reason, "reason", _("请填写终止调解的原因。"))
    routes = _routes(other_routes)

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        c.termination_reason = reason
        c.other_routes = routes
        c.concluded_at = now
        return {"reason": reason, "other_routes": routes}

    with transaction.atomic():
        case = _case_step(
            case, "terminate", actor, apply, now=now, expected_version=expected_version
        )
        with override(settings.LANGUAGE_CODE):
            labels = "、".join(str(OTHER_ROUTES(r).label) for r in routes)
            note = _(
                "调解终止（案号%(no)s）：%(reason)s。已告知当事人可通过%(routes)s等途径解决。"
            ) % {"no": case.case_no, "reason": reason.rstrip("。"), "routes": labels}
        _dispute_fails(case, actor, now, note)
        _petition_note(case.petition_id, actor, note)
    return case


# --- After the agreement ----------------------------------------------------------------------


def _effective(agreement: Agreement) -> Agreement:
    a = Agreement.objects.get(pk=agreement.pk)
    if a.effective_at is None:
        raise TransitionNotAllowed(_("调解协议尚未生效。"), code="not_effective")
    return a


def follow_up_record(
    *,
    agreement: Agreement,
    actor,
    performance: str,
    notes: str = "",
    visited_at: dt.datetime | None = None,
    expected_version: int | None = None,
) -> FollowUpVisit:
    """回访 (第三十一条): how the effective agreement is being performed."""
    visited_at = moment(visited_at, "visited_at")
    if performance not in FollowUpVisit.Performance.values:
        raise ValidationError({"performance": [_("请选择履行情况。")]})
    created: list[FollowUpVisit] = []

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        a = _effective(agreement)
        if visited_at < a.effective_at:
            raise ValidationError({"visited_at": [_("回访时间不能早于协议生效时间。")]})
        f = FollowUpVisit.objects.create(
            agreement=a, visited_at=visited_at, performance=performance, notes=notes, visitor=actor
        )
        created.append(f)
        return {"follow_up": f.pk, "performance": performance}

    _case_step(
        agreement.case_id,
        "follow_up",
        actor,
        apply,
        now=visited_at,
        expected_version=expected_version,
    )
    return created[0]


def confirmation_apply(
    *,
    agreement: Agreement,
    actor,
    applied_at: dt.date,
    court: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> JudicialConfirmation:
    """司法确认申请 (第三十三条): jointly, within 30 days of the agreement taking effect, once."""
    applied_at = day(applied_at, "applied_at")
    court = required_text(court, "court", _("请填写受理的人民法院。"), 100)
    created: list[JudicialConfirmation] = []

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        a = _effective(agreement)
        if JudicialConfirmation.objects.filter(agreement=a).exists():
            raise TransitionNotAllowed(_("该调解协议已申请过司法确认。"), code="once")
        if applied_at < deadlines.local_date(a.effective_at):
            raise ValidationError({"applied_at": [_("申请日期不能早于协议生效日期。")]})
        due = confirmation_due(a)
        if applied_at > due:
            raise TransitionNotAllowed(
                _("司法确认应自调解协议生效之日起三十日内申请，期限已于%(due)s届满。")
                % {"due": due.isoformat()},
                code="window_closed",
            )
        j = JudicialConfirmation.objects.create(agreement=a, applied_at=applied_at, court=court)
        created.append(j)
        return {"confirmation": j.pk, "applied_at": applied_at.isoformat(), "court": court}

    _case_step(
        agreement.case_id,
        "confirm_apply",
        actor,
        apply,
        now=now,
        expected_version=expected_version,
    )
    return created[0]


def confirmation_decide(
    *,
    confirmation: JudicialConfirmation,
    actor,
    decision: str,
    decided_at: dt.date,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> JudicialConfirmation:
    """The court's ruling on the application: 确认有效 / 不予确认 (once)."""
    if decision not in (
        JudicialConfirmation.Decision.CONFIRMED,
        JudicialConfirmation.Decision.REJECTED,
    ):
        raise ValidationError({"decision": [_("请选择确认有效或不予确认。")]})
    decided_at = day(decided_at, "decided_at")

    def apply(c: MediationCase, now: dt.datetime) -> dict:
        j = JudicialConfirmation.objects.select_for_update().get(pk=confirmation.pk)
        if j.decision != JudicialConfirmation.Decision.PENDING:
            raise TransitionNotAllowed(_("法院已作出裁定。"), code="decided")
        if decided_at < j.applied_at:
            raise ValidationError({"decided_at": [_("裁定日期不能早于申请日期。")]})
        j.decision, j.decided_at = decision, decided_at
        j.save(update_fields=["decision", "decided_at"])
        return {"confirmation": j.pk, "decision": decision, "decided_at": decided_at.isoformat()}

    _case_step(
        confirmation.agreement.case_id,
        "confirm_decide",
        actor,
        apply,
        now=now,
        expected_version=expected_version,
    )
    return JudicialConfirmation.objects.get(pk=confirmation.pk)
