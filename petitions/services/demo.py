"""Demo petitions for `make demo`: two years of cases in the demo district, written through the
real services (register, route, notify, object, extend, reply, evaluate, close, 复查, 复核, visits,
leader reception days) with `now=` set to realistic past times, so events, due dates and
documents are exactly what the workflow makes of them.

Everything is drawn from one seeded `random.Random`: a build is reproducible for a seed and a
`today`. Demo cases carry an intake token "demo-…" (set through petition_register): that is what
the command checks to stay idempotent and what `--rebuild` deletes; demo reception days say
"演示数据" in their notes.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import shapely
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Grant, Role
from grid.models import District, Generation, GenerationEvent, GridCell, Street
from petitions import deadlines
from petitions.models import (
    Category,
    Document,
    Organization,
    Petition,
    PetitionEvent,
    ReceiptCounter,
    ReceptionDay,
    RepeatSubmission,
    Status,
    Visit,
)
from petitions.services import workflow as wf
from petitions.services.intake import petition_link_repeat, petition_register
from petitions.services.visits import reception_day_create, visit_record, visit_totals
from petitions.validators import id_check_digit

TZ = deadlines.TZ
TOKEN_PREFIX = "demo-"
DEMO_NOTE = "演示数据"
DEMO_STREET = "210204017"  # 星海湾街道: the demo street clerk's street
# The seed report's leader reception figures (SPEC §3), reached exactly by the reception days of
# the last 12 full months: 87 batches whose headcounts add up to 191.
SERIES = {"batches": 87, "persons": 191, "answered_on_spot": 51, "resolved": 46}
SERIES_HEADCOUNTS = [1] * 30 + [2] * 39 + [3] * 14 + [6, 8, 12, 15]
SERIES_RESOLVED_ON_SPOT = 40  # of the 46 resolved, this many were also answered on the spot
SERIES_MONTHS = 12

CHANNELS = {"letter": 30, "visit": 30, "online": 25, "phone": 10, "fax": 5}
CASE_TYPES = {"appeal": 75, "suggestion": 20, "accusation": 5}
SOURCES = {  # how a case reached us, by channel
    "letter": {"own": 80, "higher_level": 20},
    "visit": {"own": 100},
    "online": {"own": 55, "hotline": 30, "higher_level": 15},
    "phone": {"hotline": 70, "own": 30},
    "fax": {"higher_level": 60, "own": 40},
}
# First-level categories (petitions migration 0002), weighted toward the district's main topics.
TOP_WEIGHTS = {"05": 22, "08": 18, "06": 14, "03": 13, "01": 11, "07": 6, "11": 4, "09": 3, "10": 3, "13": 2.5, "12": 1.5, "02": 1, "04": 1}  # fmt: skip
HANDLING_UNITS = ["区城建局", "区住建局", "区人社局", "区市场监管局", "区生态环境分局", "区教育局", "区卫健局", "区城管局"]  # fmt: skip
UNIT_BY_CATEGORY = {"0804": "区城建局", "0103": "区城管局", "01": "区城建局", "02": "区人社局", "03": "区人社局", "04": "区市场监管局", "05": "区住建局", "06": "区住建局", "07": "区生态环境分局", "08": "区城管局", "09": "区卫健局", "10": "区教育局", "11": "committee"}  # fmt: skip

# --- text material: {x} estate, {r} and {r2} roads, {n} a small number, {m} an amount (万元) -----
APPEALS = {
    "0101": "{x}棚户区改造征收补偿标准偏低，要求重新评估|房屋征收补偿款迟迟未发放到位|对{r}地块房屋征收评估结果有异议",
    "0102": "{x}回迁安置房逾期{n}个月未交付|回迁安置房面积与安置协议约定不符|回迁安置临时过渡费被停发",
    "0103": "未签补偿协议的房屋被强行拆除|{r}地块征收中被断水断电，要求依法处理",
    "0201": "原国有企业改制后职工身份置换补偿未落实|企业改制遗留职工安置问题多年未解决",
    "0202": "改制企业拖欠职工集资款未退还",
    "0301": "{r}某工地拖欠农民工工资{m}万元|某餐饮公司拖欠员工{n}个月工资|拖欠农民工工资，装修公司负责人失联|某物流公司年底拖欠司机工资",
    "0302": "单位未依法为职工缴纳社会保险|退休人员养老金核定有异议|灵活就业人员医保缴费年限认定有争议",
    "0303": "公司未签劳动合同即辞退员工|单位拒不支付解除劳动合同经济补偿",
    "0401": "{r}某投资咨询公司以高息为诱饵吸收资金后关门|某养老服务公司预收养老床位费后无法兑付",
    "0402": "借款人失联，要求协调追讨借款",
    "0501": "{x}小区电梯长期故障无人维修|物业公司服务差，{x}小区垃圾清运不及时|物业公司擅自提高物业费标准|{x}小区冬季供暖温度不达标，物业推诿|{x}小区楼道灯长期损坏无人维修|物业公司撤场后{x}小区无人管理",
    "0502": "申请使用专项维修资金维修漏雨屋面受阻|{x}小区住宅专项维修资金使用情况不公开",
    "0503": "{x}小区业主委员会换届选举程序不规范|业委会与物业公司续签合同未经业主表决",
    "0601": "购房{n}年仍无法办理不动产权证|{x}小区房屋办证难，开发商已注销",
    "0602": "公租房申请审核时间过长|申请住房租赁补贴被拒，认为审核不合理",
    "0603": "{x}院内公共用地被个人圈占|与邻居房前土地使用界限发生争议",
    "0701": "{r}某工地夜间施工噪声扰民|楼下饭店空调外机噪声扰民|{x}广场舞音响音量过大影响休息",
    "0702": "{r}某烧烤店油烟直排扰民|{x}小区附近工地扬尘严重",
    "0703": "{r}排水管网堵塞污水外溢",
    "0801": "{x}小区一楼住户私搭乱建|{x}小区楼顶违建阳光房存在安全隐患",
    "0802": "{r}垃圾堆放点长期无人清理|{x}小区周边共享单车乱停乱放",
    "0803": "{r}早市占道经营影响通行|{r}商户门前占道堆放杂物",
    "0804": "{r}与{r2}交叉口缺少信号灯，过街不安全|{x}小区门前路灯损坏多日未修|{r}人行道破损严重",
    "0901": "在某医院手术后出现并发症，要求说明情况并赔偿|对医院收费项目有异议",
    "0902": "{x}小区周边流浪犬过多存在卫生隐患|{r}某小饭店卫生条件差",
    "1001": "对子女入学学区划分有异议|随迁子女入学材料审核问题",
    "1002": "{r}学校周边交通拥堵存在安全隐患|校外培训机构停课后拒不退费",
    "1101": "子女不履行赡养义务，要求协调|离婚后对方拒不支付子女抚养费",
    "1102": "楼上住户漏水殃及楼下，协商未果|邻居在楼道堆放杂物堵塞消防通道",
    "1201": "对法院民事判决不服，反映审理不公",
    "1202": "胜诉判决长期得不到执行",
    "1301": "反映社区工作人员服务态度差|咨询老年人优待证办理政策",
}  # fmt: skip
SUGGESTIONS = [
    ("0804", "建议在{r}与{r2}交叉口增设红绿灯"), ("0802", "建议在{x}小区增设分类垃圾投放点"),
    ("0501", "建议为{x}等老旧小区加装电梯"), ("0804", "建议增加{r}沿线公交线路班次"),
    ("1301", "建议社区增设老年食堂"), ("0802", "建议在{x}小区周边增加公共停车泊位"),
    ("1001", "建议优化小学入学网上报名流程"), ("0701", "建议规范广场舞活动时间和音量"),
    ("0902", "建议社区卫生服务中心延长服务时间"), ("0803", "建议在{r}设置便民早市疏导点"),
]  # fmt: skip
ACCUSATIONS = [
    ("0602", "举报社区工作人员在公租房审核中优亲厚友"), ("0101", "举报征收工作人员虚报冒领补偿款"),
    ("0803", "举报执法人员收受商户好处费"), ("0302", "举报某单位骗取社会保险基金"),
    ("1301", "举报社区干部违规发放低保"), ("0503", "举报业委会成员侵占小区公共收益"),
]  # fmt: skip
DETAILS = [
    "已多次向有关方面反映，问题至今未解决，请求协调处理。",
    "该问题持续时间较长，严重影响正常生活，希望尽快解决。",
    "周边居民意见较大，请求有关部门依法查处。",
    "信访人情绪较为激动，要求尽快给予明确答复。",
]
ESTATES = ["和平花园", "锦绣家园", "阳光小区", "富丽华庭", "春柳新村", "星海人家", "黄河小区", "西山嘉园", "兴工小区", "中山花园", "学苑小区", "海韵园", "万达华府", "星海名城"]  # fmt: skip
ROADS = ["中山路", "黄河路", "西安路", "五一路", "兴工街", "太原街", "长兴街", "李家街", "春柳街", "马栏南街", "黑石礁街", "星海湾路", "民政街", "联合路"]  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎常武乔贺龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉建国志淑珍凤海燕红梅文博子涵浩然欣怡宇轩晓东春雨立新"
REPLIES = {
    "support": "经调查，信访人反映的问题基本属实。{unit}已责成相关责任方限期整改，整改完成后将组织回访。",
    "explain": "经调查核实，{unit}已就相关法律法规和政策规定向信访人作出解释说明，并告知其后续办理途径。",
    "reject": "经调查，信访人的诉求缺乏法律和政策依据，不予支持。如不服本意见，可自收到本意见书之日起30日内向上一级行政机关申请复查。",
}  # fmt: skip
REJECT_REASONS = [
    "该事项属于应当通过诉讼、仲裁、行政复议等法定途径解决的事项，已告知信访人依法提出。",
    "信访人就同一事项在办理期限内重复提出，不再重复受理。",
    "该事项已经复核终结，信访人以同一事实和理由再次提出。",
]
EXTEND_REASONS = ["案情复杂，需进一步调查核实", "涉及多个部门，需协调后答复"]
OBJECTION = "该事项不属于{unit}职责范围，请重新交办。"
REVIEW_TEXT = "经复查，原处理意见认定事实清楚，适用政策正确，予以维持。"
REREVIEW_TEXT = "经复核，维持复查意见。本复核意见为终结意见。"
SUPERVISION = "办理进度缓慢，请加快办理并按期答复。"
TITLES = ["区长", "常务副区长", "副区长", "区委副书记"]
CONSULTS = ["咨询政策，当场解答", "反映既往事项办理进展", "咨询法律途径，已告知"]

# Each planned step calls one service with petition=, now= and the step's keyword arguments.
SERVICES: dict[str, Callable] = {
    "route": wf.petition_route,
    "notify": wf.petition_notify,
    "object": wf.petition_object,
    "objection_resolve": wf.petition_objection_resolve,
    "extend": wf.petition_extend,
    "link_repeat": lambda *, now, **kw: petition_link_repeat(received_at=now, **kw),
    "supervise": wf.petition_supervise,
    "reply": wf.petition_reply,
    "evaluate": wf.petition_evaluate,
    "close": wf.petition_close,
    "review_request": wf.petition_review_request,
    "review_answer": wf.petition_review_answer,
    "rereview_request": wf.petition_rereview_request,
    "hearing": wf.petition_hearing,
    "rereview_answer": wf.petition_rereview_answer,
}


@dataclass
class Step:
    at: dt.datetime
    action: str
    to: str | None  # the status after the step (None: unchanged)
    kw: dict


@dataclass
class Case:
    received_at: dt.datetime
    channel: str
    source: str
    case_type: str
    category: Category
    summary: str
    location: tuple[float, float]
    cell_code: str | None
    address: str
    petitioners: list[dict]
    anonymous: bool
    org: Organization
    visit: dict | None = None
    steps: list[Step] = field(default_factory=list)
    forced: str = ""


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=TZ)


def _later(rng: random.Random, t: dt.datetime, days: int) -> dt.datetime:
    """A moment in office hours `days` calendar days after `t` (after `t` on the same day)."""
    at = _at(deadlines.local_date(t) + dt.timedelta(days=days), rng.randint(8 * 60 + 40, 17 * 60))
    return at if at > t else t + dt.timedelta(minutes=rng.randint(10, 90))


def _month_start(day: dt.date, back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _third_wednesday(first: dt.date) -> dt.date:
    return first + dt.timedelta(days=(2 - first.weekday()) % 7 + 14)


def _demo_petitions():
    return Petition.objects.filter(intake_token__startswith=TOKEN_PREFIX)


def petitions_demo_exists() -> bool:
    return _demo_petitions().exists()


def petitions_demo_clear() -> int:
    """Delete the demo cases, their visits and the demo reception days; give numbers back."""
    demo, days = _demo_petitions(), ReceptionDay.objects.filter(notes__startswith=DEMO_NOTE)
    with transaction.atomic():
        Visit.objects.filter(Q(petitions__in=demo) | Q(reception_day__in=days)).delete()
        days.delete()
        deleted, _by_model = demo.delete()
        # Numbering restarts after the highest remaining number (from 1 when only demo existed).
        for counter in ReceiptCounter.objects.all():
            rest = Petition.objects.filter(district_code=counter.district_code, year=counter.year)
            counter.last = rest.aggregate(m=Max("seq"))["m"] or 0
            counter.save(update_fields=["last"])
    return deleted


def generation_backdate(generation: Generation, since: dt.datetime) -> None:
    """Let the demo boundaries be in force since `since`, so that cases received in the past are
    placed in cells (petition_register locates at the received time).

    Refused if a non-demo generation was in force then; retired demo generations in the way are
    shrunk to nothing at `since`. Each change is a GenerationEvent."""
    if generation.activated_at and generation.activated_at <= since:
        return
    others = Generation.objects.exclude(pk=generation.pk).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=since), activated_at__isnull=False
    )
    if others.filter(is_demo=False).exists():
        raise RuntimeError(_("演示期内有正式的网格边界版本生效，不能生成演示信访数据。"))
    reason = _("演示数据：网格边界视为自演示期开始生效")
    for old in others:
        GenerationEvent.objects.create(
            generation=old, action="backdate", reason=reason, payload={"retired_at": str(since)}
        )
        Generation.objects.filter(pk=old.pk).update(activated_at=since, retired_at=since)
    GenerationEvent.objects.create(
        generation=generation,
        action="backdate",
        reason=reason,
        payload={"from": str(generation.activated_at), "to": str(since)},
    )
    Generation.objects.filter(pk=generation.pk).update(activated_at=since)


class DemoBuilder:
    """One build: organisations, grants, reception days, then each case through its steps."""

    def __init__(self, *, seed: int, months: int, per_month: int, today: dt.date | None):
        self.rng = random.Random(seed)
        self.seed, self.months, self.per_month = seed, months, per_month
        now = timezone.now()
        self.horizon = now if today is None else min(now, _at(today, 17 * 60 + 30))
        self.today = deadlines.local_date(self.horizon)
        self.generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
        if self.generation is None:
            raise RuntimeError(_("没有生效的网格边界版本，请先运行 grid_demo。"))
        self.people: list[dict] = []
        self.series_days: list[ReceptionDay] = []
        self.days = ReceptionDay.objects.filter(notes__startswith=DEMO_NOTE)

    # --- set-up ------------------------------------------------------------------------------

    def users(self) -> dict:
        user_model = get_user_model()
        found = {u.username: u for u in user_model.objects.filter(username__in=list(Role))}
        if len(found) < len(Role):
            from grid.services.demo import demo_users_create

            demo_users_create(generation=self.generation)
            found = {u.username: u for u in user_model.objects.filter(username__in=list(Role))}
        return found

    def org(self, name: str, kind: str, area: str = "", head=None) -> Organization:
        o, _c = Organization.objects.update_or_create(
            name=name, defaults={"kind": kind, "area_code": area, "is_active": True}
        )
        if head is not None and o.head_id != head.pk:
            o.head = head
            o.save(update_fields=["head"])
        return o

    def organizations(self) -> None:
        district = District.objects.get(generation=self.generation)
        self.district_code, self.extent = district.code, district.geom.extent
        streets = dict(
            Street.objects.filter(generation=self.generation).values_list("code", "name")
        )
        self.clerk_street = DEMO_STREET if DEMO_STREET in streets else min(streets)
        u, kind = self.u, Organization.Kind
        self.bureau = self.org("区信访局", kind.BUREAU, district.code, u["bureau"])
        self.offices, self.committees = {}, {}
        for code, name in sorted(streets.items()):
            mine = code == self.clerk_street
            clerk, mediator = (u["street_clerk"], u["mediator"]) if mine else (None, None)
            self.offices[code] = self.org(f"{name}办事处", kind.STREET_OFFICE, code, clerk)
            self.committees[code] = self.org(
                f"{name}人民调解委员会", kind.COMMITTEE, code, mediator
            )
        self.units = {
            n: self.org(n, kind.HANDLING_UNIT, "", u["handling_unit"] if n == "区城建局" else None)
            for n in HANDLING_UNITS
        }
        self.discipline = self.org("区纪委监委", kind.DISCIPLINE)

    def grants(self) -> None:
        u, street = self.u, self.clerk_street
        cells = GridCell.objects.filter(generation=self.generation, code__startswith=street)
        community = cells.order_by("code").values_list("parent_code", flat=True).first() or street
        rows = [
            (u["admin"], Role.ADMIN, "", None),
            (u["bureau"], Role.BUREAU, self.district_code, None),
            (u["street_clerk"], Role.STREET_CLERK, street, None),
            (u["community_staff"], Role.COMMUNITY_STAFF, community, None),
            (u["grid_worker"], Role.GRID_WORKER, "", None),  # their cells: GridAssignment
            (u["mediator"], Role.MEDIATOR, "", self.committees[street]),
            (u["handling_unit"], Role.HANDLING_UNIT, "", self.units["区城建局"]),
            (u["leader"], Role.LEADER, self.district_code, None),
        ]
        for user, role, area, organization in rows:
            Grant.objects.get_or_create(
                user=user, role=role, area_code=area, organization=organization
            )

    def cells(self) -> None:
        rows = GridCell.objects.filter(generation=self.generation).order_by("code")
        self.cell_rows = [
            (code, community, shapely.from_wkb(bytes(geom.wkb)))
            for code, community, geom in rows.values_list("code", "community__name", "geom")
        ]
        children = Category.objects.filter(parent__isnull=False).select_related("parent")
        self.categories = {c.code: c for c in children}

    def actor(self, org: Organization):
        """Who acts for an organisation: its head, else the bureau's demo user."""
        return org.head if org.head_id else self.u["bureau"]

    # --- one case's data ---------------------------------------------------------------------

    def person(self, representative: bool = False) -> dict:
        rng = self.rng
        if self.people and rng.random() < 0.05:  # a frequent petitioner comes back
            return {**rng.choice(self.people), "is_representative": representative}
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 50 * 365))
        first17 = f"210204{birth:%Y%m%d}{rng.randint(1, 999):03d}"
        prefix = rng.choice(["13", "15", "18"]) + str(rng.choice([0, 1, 2, 3, 5, 6, 7, 8, 9]))
        row = {
            "name": rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2)))),
            "id_number": first17 + id_check_digit(first17),
            "phone": f"{prefix}{rng.randint(0, 99_999_999):08d}",
            "is_representative": representative,
        }
        self.people.append(row)
        return row

    def subject(self, case_type: str) -> tuple[Category, str]:
        rng = self.rng
        if case_type == "suggestion":
            code, template = rng.choice(SUGGESTIONS)
        elif case_type == "accusation":
            code, template = rng.choice(ACCUSATIONS)
        else:
            top = _pick(rng, TOP_WEIGHTS)
            code = rng.choice([c for c in APPEALS if c.startswith(top)])
            template = rng.choice(APPEALS[code].split("|"))
        r, r2 = rng.sample(ROADS, 2)
        n, m = rng.randint(2, 18), rng.choice([3.6, 8, 12.5, 26, 45])
        text = template.format(x=rng.choice(ESTATES), r=r, r2=r2, n=n, m=m)
        return self.categories[code], text

    def place(self) -> tuple[tuple[float, float], str | None, str]:
        rng = self.rng
        street_no = f"大连市沙河口区{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        if rng.random() < 0.03:  # a mistyped position: in the sea west of the district
            x0, y0, _x1, y1 = self.extent
            return (x0 - rng.uniform(0.004, 0.02), rng.uniform(y0, y1)), None, street_no
        code, community, geom = rng.choice(self.cell_rows)
        x0, y0, x1, y1 = geom.bounds
        for _try in range(100):
            point = (round(rng.uniform(x0, x1), 6), round(rng.uniform(y0, y1), 6))
            if shapely.contains_xy(geom, *point):
                break
        else:
            point = geom.point_on_surface().coords[0]
        return point, code, f"{street_no}（{community}）"

    def received(self, start: dt.datetime, end: dt.datetime, channel: str) -> dt.datetime:
        """A receipt time in [start, end): office hours on weekdays, online also evenings."""
        rng = self.rng
        first, last = start.date(), deadlines.local_date(end - dt.timedelta(microseconds=1))
        if end <= start or last < first:
            return start
        span = (7 * 60, 23 * 60) if channel == "online" else (8 * 60 + 30, 17 * 60)
        for attempt in range(8):
            day = first + dt.timedelta(days=rng.randint(0, (last - first).days))
            if channel != "online" and day.weekday() >= 5 and attempt < 7:
                continue
            at = _at(day, rng.randint(*span))
            if start <= at < end:
                return at
        return start + (end - start) * rng.random()

    def case(self, start: dt.datetime, end: dt.datetime, channel: str | None) -> Case:
        rng = self.rng
        channel = channel or _pick(rng, CHANNELS)
        case_type = _pick(rng, CASE_TYPES)
        category, summary = self.subject(case_type)
        location, cell_code, address = self.place()
        anonymous = channel == "letter" and rng.random() < (
            0.4 if case_type == "accusation" else 0.02
        )
        source = _pick(rng, SOURCES[channel])
        own = source == "own" and cell_code is not None and rng.random() < 0.75
        visit = None
        if anonymous:
            petitioners = []
        elif channel == "visit" and rng.random() < 0.08:  # a group visit with representatives
            petitioners = [self.person(True) for _i in range(rng.randint(1, 5))]
            visit = {"headcount": rng.randint(6, 30)}
        else:
            petitioners = [self.person() for _i in range(1 if rng.random() < 0.9 else 2)]
        if channel == "visit":
            visit = {
                "headcount": rng.choice((1, 1, 1, 2, 2, 3)),
                **(visit or {}),
                "answered": rng.random() < 0.35,
                "resolved": rng.random() < 0.2,
                "reception_day": None,
            }
        return Case(
            received_at=self.received(start, end, channel),
            channel=channel,
            source=source,
            case_type=case_type,
            category=category,
            summary=summary,
            location=location,
            cell_code=cell_code,
            address=address,
            petitioners=petitioners,
            anonymous=anonymous,
            org=self.offices[cell_code[:9]] if own else self.bureau,
            visit=visit,
        )

    # --- one case's course -------------------------------------------------------------------

    def decision(self, case: Case, rng: random.Random) -> tuple[str, Organization | None]:
        if case.case_type == "accusation":
            return "forward", self.discipline  # 第三十条: never to the accused
        code = case.category.code
        if rng.random() < (0.6 if code.startswith("12") else 0.025):
            return "reject", None
        name = UNIT_BY_CATEGORY.get(code) or UNIT_BY_CATEGORY.get(code[:2])
        street = case.cell_code[:9] if case.cell_code else None
        unit = self.committees.get(street) if name == "committee" else self.units.get(name)
        r = rng.random()
        if unit is None or r < 0.3:
            return "accept", None
        return ("assign" if r < 0.75 else "forward"), unit

    def plan(self, case: Case, rng: random.Random, force: dict) -> list[Step]:
        """The case's steps with their times (the build runs those not after the horizon).

        `force` fixes choices otherwise drawn: decision, objection, uphold, fate."""
        steps: list[Step] = []
        office, bureau = self.actor(case.org), self.u["bureau"]

        def add(base, lo, hi, action, to=None, **kw):
            """A step `lo`..`hi` days after `base`; returns its time."""
            steps.append(Step(_later(rng, base, rng.randint(lo, hi)), action, to, kw))
            return steps[-1].at

        gap = rng.randint(16, 21) if rng.random() < 0.03 else int(rng.triangular(0, 14, 2))
        decision, unit = force.get("decision") or self.decision(case, rng)
        if decision == "reject":
            routed = add(case.received_at, gap, gap, "route", Status.NOT_ACCEPTED, actor=office,
                         decision="reject", reason=rng.choice(REJECT_REASONS))  # fmt: skip
            if not case.anonymous:
                add(routed, 0, 2, "notify", actor=office)
            return steps
        unit = unit or case.org
        reason = (
            f"由{unit.name}办理。" if decision != "accept" else "属于本机关职责范围，依法受理。"
        )
        routed = last = add(case.received_at, gap, gap, "route", Status.HANDLING, actor=office,
                            decision=decision, unit=unit if decision != "accept" else None,
                            reason=reason)  # fmt: skip
        objecting = force.get("objection", rng.random() < 0.04)
        if decision != "accept" and unit.kind == Organization.Kind.HANDLING_UNIT and objecting:
            last = add(routed, 1, 4, "object", Status.OBJECTED, actor=self.actor(unit),
                       reason=OBJECTION.format(unit=unit.name))  # fmt: skip
            uphold = force.get("uphold", rng.random() < 0.5)
            after = Status.REGISTERED if uphold else Status.HANDLING
            last = add(last, 1, 3, "objection_resolve", after, actor=office, uphold=uphold)
            if uphold:
                unit = rng.choice([u for u in self.units.values() if u != unit])
                routed = last = add(last, 0, 2, "route", Status.HANDLING, actor=office,
                                    decision="assign", unit=unit,
                                    reason=f"异议成立，改由{unit.name}办理。")  # fmt: skip
        if not case.anonymous:
            last = add(last, 0, 3, "notify", actor=office)
        handler, r = self.actor(unit), rng.random()
        if r < 0.10:  # extended once, then mostly answered within the longer period
            days, extended = rng.choice((15, 20, 30)), rng.randint(40, 57)
            add(routed, extended, extended, "extend", actor=handler, days=days, approver=handler,
                reason=rng.choice(EXTEND_REASONS))  # fmt: skip
            offset = rng.randint(extended + 1, 60 + days)
        elif r < 0.145:  # answered late
            offset = rng.randint(61, 72)
        else:
            offset = int(rng.triangular(5, 58, 20))
        offset = max(offset, (deadlines.local_date(last) - deadlines.local_date(routed)).days + 1)
        if offset >= 6 and rng.random() < 0.085:
            channel = _pick(rng, {"visit": 4, "phone": 3, "letter": 2, "online": 2})
            add(routed, 2, offset - 2, "link_repeat", actor=office, channel=channel,
                summary=f"再次反映：{case.summary}")  # fmt: skip
        if offset >= 32 and (rng.random() < 0.02 or (offset > 60 and rng.random() < 0.6)):
            add(routed, 30, offset - 1, "supervise", actor=bureau, reason=SUPERVISION)
        fate = force.get("fate") or _pick(
            rng, {"close": 86, "stale": 9, "review": 4, "rereview": 1}
        )
        reviewing = fate in ("review", "rereview")
        outcomes = {"support": 20, "explain": 50, "reject": 30} if reviewing else {"support": 55, "explain": 36, "reject": 9}  # fmt: skip
        outcome = _pick(rng, outcomes)
        replied = add(routed, offset, offset, "reply", Status.REPLIED, actor=handler,
                      outcome=outcome, text=REPLIES[outcome].format(unit=unit.name))  # fmt: skip
        if not case.anonymous and rng.random() < (0.5 if reviewing else 0.72):
            rating = {"unsatisfied": 1} if reviewing else {"satisfied": 78, "basic": 21, "unsatisfied": 1}  # fmt: skip
            add(replied, 1, 8, "evaluate", actor=None, evaluation=_pick(rng, rating))
        if fate == "close":
            add(replied, 1, 12, "close", Status.CLOSED, actor=office)
        elif reviewing:
            add(replied, 1, 6, "close", Status.CLOSED, actor=office)
            asked = add(replied, 10, 28, "review_request", Status.REVIEW_REQUESTED, actor=bureau,
                        reason="对处理意见不服，申请复查。")  # fmt: skip
            answered = add(asked, 10, 29, "review_answer", Status.REVIEWED, actor=bureau,
                           outcome=_pick(rng, {"explain": 3, "reject": 7}), text=REVIEW_TEXT)  # fmt: skip
            if fate == "review":
                add(answered, 1, 5, "close", Status.CLOSED, actor=office)
            else:
                asked = add(answered, 5, 25, "rereview_request", Status.REREVIEW_REQUESTED,
                            actor=bureau, reason="对复查意见不服，申请复核。")  # fmt: skip
                hearing = rng.randint(5, 15) if rng.random() < 0.5 else 0
                if hearing:
                    add(asked, 3, 10, "hearing", actor=bureau, days=hearing)
                add(asked, 15 + hearing, 29 + hearing, "rereview_answer", Status.CLOSED,
                    actor=bureau, outcome="reject", text=REREVIEW_TEXT)  # fmt: skip
        steps.sort(key=lambda s: s.at)
        return steps

    def status_at_horizon(self, steps: list[Step]) -> str:
        status = Status.REGISTERED
        for step in steps:
            if step.at > self.horizon:
                break
            status = step.to or status
        return status

    # --- the whole build ---------------------------------------------------------------------

    def windows(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """[start, end) of each month, the current one ending at the horizon."""
        out = []
        for back in range(self.months - 1, -1, -1):
            end = _at(_month_start(self.today, back - 1), 0)
            out.append((_at(_month_start(self.today, back), 0), min(end, self.horizon)))
        return out

    def cases_plan(self) -> list[Case]:
        cases = []
        for number, (start, end) in enumerate(self.windows()):
            for i in range(self.per_month):
                # The oldest month starts with one case of each channel: every channel present.
                forced = list(CHANNELS)[i] if number == 0 and i < len(CHANNELS) else None
                cases.append(self.case(start, end, forced))
        return cases

    def reception_plan(self, cases: list[Case]) -> list[dict]:
        """Monthly leader reception days (third Wednesday); returns the visits opening no case.

        Up to three visit cases of a month are moved onto its reception day (source 领导接访).
        The last SERIES_MONTHS full months carry the seed report's figures exactly."""
        rng, consults, windows = self.rng, [], self.windows()
        current = _month_start(self.today, 0)
        series = [w for w in windows if w[0].date() < current][-SERIES_MONTHS:]
        series_visits = self.series_visits(len(series))
        for number, (start, end) in enumerate(windows):
            day = _third_wednesday(start.date())
            if _at(day, 12 * 60) > end:
                continue
            rd = reception_day_create(
                actor=self.u["bureau"],
                leader=self.u["leader"],
                leader_title=TITLES[number % len(TITLES)],
                date=day,
                place=rng.choice(["区信访局接待大厅", *[o.name for o in self.offices.values()]]),
                organization=self.bureau,
                notes=f"{DEMO_NOTE}：区领导每月接访日",
            )
            if (start, end) in series:
                self.series_days.append(rd)
                visits = series_visits.pop(0)
            else:
                visits = [
                    (rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 7, 9)), rng.random() < 0.55, rng.random() < 0.45)
                    for _v in range(rng.randint(4, 9))
                ]  # fmt: skip
            movable = [
                c
                for c in cases
                if start <= c.received_at < end
                and c.channel == "visit"
                and c.case_type != "accusation"
                and c.petitioners
                and not c.visit["reception_day"]
            ]
            movers = rng.sample(movable, min(3, len(movable)))
            gap = min(12, 8 * 60 // max(1, len(visits)))  # one morning, or a long day
            for slot, (headcount, answered, resolved) in enumerate(visits):
                at = _at(day, 9 * 60 + slot * gap)
                visit = {"headcount": headcount, "answered": answered, "resolved": resolved}
                if slot < len(movers):
                    case = movers[slot]
                    case.received_at, case.source, case.org = at, "leader_reception", self.bureau
                    for row in case.petitioners[:5] if headcount > 5 else ():
                        row["is_representative"] = True
                    case.visit = {**visit, "reception_day": rd}
                else:
                    names = [self.person()["name"] for _n in range(min(3, headcount))]
                    reps = names if headcount > 5 else []
                    consults.append({**visit, "at": at, "day": rd, "representatives": reps})
        return consults

    def series_visits(self, months: int) -> list[list[tuple[int, bool, bool]]]:
        """SERIES spread over `months` reception days: (headcount, answered, resolved) each."""
        if not months:
            return []
        rng, n = self.rng, SERIES["batches"]
        heads = SERIES_HEADCOUNTS[:]
        rng.shuffle(heads)
        answered = set(rng.sample(range(n), SERIES["answered_on_spot"]))
        resolved = set(rng.sample(sorted(answered), SERIES_RESOLVED_ON_SPOT))
        others = sorted(set(range(n)) - answered)
        resolved |= set(rng.sample(others, SERIES["resolved"] - SERIES_RESOLVED_ON_SPOT))
        rows = [(heads[i], i in answered, i in resolved) for i in range(n)]
        cuts = [n * i // months for i in range(months + 1)]
        return [rows[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]

    def force_statuses(self, cases: list[Case]) -> None:
        """Give chosen cases a course that leaves them in each status at the horizon."""
        assign = ("assign", self.units["区城建局"])
        wanted = [
            (Status.REREVIEW_REQUESTED, {"fate": "rereview", "objection": False}),
            (Status.REVIEWED, {"fate": "rereview", "objection": False}),
            (Status.REVIEW_REQUESTED, {"fate": "review", "objection": False}),
            (Status.OBJECTED, {"objection": True, "uphold": False, "decision": assign}),
            (Status.REPLIED, {"fate": "stale", "objection": False}),
            (Status.HANDLING, {"objection": False}),
            (Status.REGISTERED, {}),
            (Status.NOT_ACCEPTED, {"decision": ("reject", None)}),
            (Status.CLOSED, {"fate": "close", "objection": False}),
        ]
        pool = sorted(
            (c for c in cases if c.case_type != "accusation" and not c.anonymous),
            key=lambda c: -c.received_at.timestamp(),
        )
        for status, force in wanted:
            free = [c for c in pool if not c.forced]
            found = self.natural(free[:60], status, force) or self.stopped(free, status, force)
            if found is None:
                raise RuntimeError(_("演示案例太少，无法覆盖每一种状态。"))
            found[0].steps, found[0].forced = found[1], status

    def natural(self, cases: list[Case], status: str, force: dict):
        """A case (of the youngest) whose course, timed as usual, is in `status` at the horizon."""
        for case in cases:
            for _try in range(12):
                steps = self.plan(case, self.rng, force)
                if self.status_at_horizon(steps) == status:
                    return case, steps
        return None

    def stopped(self, cases: list[Case], status: str, force: dict):
        """Else a course cut at the step that reaches `status`: the case where that step falls
        latest before the horizon; failing that (small builds), the oldest case with its steps
        squeezed before the horizon (the gaps shrink, so no statutory window is missed)."""
        if status == Status.REGISTERED:
            return (cases[0], []) if cases else None
        cut = []
        for case in cases:
            steps = self.plan(case, self.rng, force)
            ends = [i for i, s in enumerate(steps) if s.to == status]
            if ends:
                cut.append((case, steps[: ends[0] + 1]))
        if not cut:
            return None
        early = [(c, steps) for c, steps in cut if steps[-1].at <= self.horizon]
        if early:
            return max(early, key=lambda cs: cs[1][-1].at)
        case, steps = min(cut, key=lambda cs: cs[0].received_at)
        start = case.received_at
        k = (self.horizon - start) * 0.9 / (steps[-1].at - start)
        return case, [Step(start + (s.at - start) * k, s.action, s.to, s.kw) for s in steps]

    def run_case(self, case: Case, token: str) -> Petition:
        petition = petition_register(
            actor=self.actor(case.org),
            organization=case.org,
            channel=case.channel,
            case_type=case.case_type,
            category=case.category,
            summary=case.summary,
            content=f"信访人反映：{case.summary}。{self.rng.choice(DETAILS)}",
            received_at=case.received_at,
            source=case.source,
            location=case.location,
            address=case.address,
            petitioners=case.petitioners,
            anonymous=case.anonymous,
            intake_token=token,
        ).petition
        if case.visit:
            visit, heads = case.visit, case.visit["headcount"]
            reps = [r["name"] for r in case.petitioners if r.get("is_representative")]
            visit_record(
                actor=self.actor(case.org),
                organization=case.org,
                received_at=case.received_at,
                headcount=heads,
                representatives=reps if heads > 5 else [],
                answered_on_spot=visit["answered"],
                resolved=visit["resolved"],
                petitions=[petition],
                reception_day=visit["reception_day"],
            )
        for step in case.steps:
            if step.at > self.horizon:
                break
            done = SERVICES[step.action](petition=petition, now=step.at, **step.kw)
            petition = done if isinstance(done, Petition) else petition
        return petition

    def consult(self, visit: dict, earlier: list[tuple[dt.datetime, int]]) -> None:
        """A reception-day visit that opens no new case: a question, or a follow-up of a case."""
        before = [pk for at, pk in earlier if at < visit["at"]]
        linked = [self.rng.choice(before)] if before and self.rng.random() < 0.3 else []
        visit_record(
            actor=self.u["bureau"],
            organization=self.bureau,
            received_at=visit["at"],
            headcount=visit["headcount"],
            representatives=visit["representatives"],
            answered_on_spot=visit["answered"],
            resolved=visit["resolved"],
            petitions=Petition.objects.filter(pk__in=linked),
            reception_day=visit["day"],
            notes=CONSULTS[1] if linked else self.rng.choice(CONSULTS[::2]),
        )

    def build(self) -> dict:
        started = time.monotonic()
        if petitions_demo_exists():
            raise RuntimeError(_("已有演示信访数据。"))
        self.u = self.users()
        self.organizations()
        self.grants()
        self.cells()
        generation_backdate(self.generation, self.windows()[0][0] - dt.timedelta(days=1))
        cases = self.cases_plan()
        consults = self.reception_plan(cases)
        for case in cases:
            case.steps = self.plan(case, self.rng, {})
        self.force_statuses(cases)
        cases.sort(key=lambda c: c.received_at)
        earlier = []
        for number, case in enumerate(cases, 1):
            petition = self.run_case(case, f"{TOKEN_PREFIX}{self.seed}-{number:06d}")
            earlier.append((case.received_at, petition.pk))
        for visit in consults:
            self.consult(visit, earlier)
        self.backfill_recorded()
        return self.summary(time.monotonic() - started)

    def backfill_recorded(self) -> None:
        """Demo history is written now but happened in the past: date its "recorded" stamps
        like its business times, so as-of reports of past months see it as if kept live."""
        demo = _demo_petitions()
        PetitionEvent.objects.filter(petition__in=demo).update(recorded_at=F("at"))
        RepeatSubmission.objects.filter(petition__in=demo).update(created_at=F("received_at"))
        visits = Visit.objects.filter(Q(petitions__in=demo) | Q(reception_day__in=self.days))
        Visit.objects.filter(pk__in=visits.values("pk")).update(created_at=F("received_at"))
        event_at = PetitionEvent.objects.filter(pk=OuterRef("event_id")).values("at")[:1]
        Document.objects.filter(petition__in=demo, event__isnull=False).update(
            created_at=Subquery(event_at)
        )

    def summary(self, seconds: float) -> dict:
        demo, days = _demo_petitions(), self.days
        visits = Visit.objects.filter(Q(petitions__in=demo) | Q(reception_day__in=days))
        received = demo.order_by("received_at").values_list("received_at", flat=True)
        return {
            "petitions": demo.count(),
            "by_status": dict(Counter(demo.values_list("status", flat=True))),
            "by_channel": dict(Counter(demo.values_list("channel", flat=True))),
            "outside_grid": demo.filter(cell__isnull=True).count(),
            "repeats": RepeatSubmission.objects.filter(petition__in=demo).count(),
            "documents": Document.objects.filter(petition__in=demo).count(),
            "visits": visits.distinct().count(),
            "reception_days": days.count(),
            "series": {
                "first": min((d.date for d in self.series_days), default=None),
                "last": max((d.date for d in self.series_days), default=None),
                **visit_totals(Visit.objects.filter(reception_day__in=self.series_days)),
            },
            "first_received": received.first(),
            "last_received": received.last(),
            "seconds": round(seconds, 1),
        }


def petitions_demo_build(
    *, seed: int = 2026, months: int = 24, per_month: int = 60, today: dt.date | None = None
) -> dict:
    """Build the demo cases (one transaction) and return a summary of what was made."""
    builder = DemoBuilder(seed=seed, months=months, per_month=per_month, today=today)
    with transaction.atomic():
        return builder.build()
