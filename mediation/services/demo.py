"""Demo disputes and mediation for `make demo` (after grid_demo and petitions_demo): monthly
screening rounds per street, disputes found by grid workers at random points in the cells of the
active generation, and mediation cases of all three types taken through the real services with
past `now`/`*_at` values, so events, statuses and due dates are what the workflow makes of them.

Everything is drawn from one seeded `random.Random`: a build is reproducible for a seed and a
`today`. Steps that would fall after "now" are not taken, which leaves the recent records open.
Demo rounds end their names with DEMO_SUFFIX: that is what makes the build idempotent and what
`mediation_demo_clear` deletes (with the disputes and cases made from them).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import shapely
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Grant, Role
from grid.models import District, Generation, GridAssignment, GridCell, Street
from mediation.models import (
    Agreement,
    Dispute,
    FollowUpVisit,
    JudicialConfirmation,
    MediationCase,
    ScreeningRound,
)
from mediation.services import cases as mc
from mediation.services import screening as sc
from petitions import deadlines
from petitions.models import Organization, Petition

TZ = deadlines.TZ
DEMO_SUFFIX = "（演示）"
DEMO_STREET = "210204017"  # 星海湾街道: the demo grid worker's, street clerk's and mediator's
MEDIATORS_PER_COMMITTEE = 2

CATEGORY_WEIGHTS = {
    "neighbour": 20, "marriage_family": 15, "property_mgmt": 14, "labour": 10, "housing": 7,
    "consumer": 7, "traffic": 6, "environment": 5, "other": 5, "land": 4, "medical": 4,
    "demolition": 3,
}  # fmt: skip
RISK_WEIGHTS = {"general": 70, "major": 22, "serious": 8}
MEDIATE_SHARE = 0.35
CASE_OUTCOMES = {"agree": 80, "terminate": 12, "refuse": 5, "linger": 3}
DIRECT_OUTCOMES = {"resolve": 62, "stabilise": 15, "fail": 6, "divert": 7, "open": 10}
DIVERSIONS = {"litigation": 35, "arbitration": 25, "petition": 20, "administrative": 20}
TYPES = {"people": 70, "administrative": 18, "judicial": 12}
SOURCES = {
    "people": {"application": 55, "own_initiative": 35, "petition_office": 10},
    "administrative": {"police": 50, "application": 50},
    "judicial": {"court": 100},
}
PERFORMANCE = {"full": 85, "partial": 10, "none": 5}
COURT = "大连市沙河口区人民法院"

# --- text material ---------------------------------------------------------------------------
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏丹凤琳海燕晨雪梅松岩峰波斌宇浩凯欣怡佳慧颖"  # noqa: E501
ESTATES = ["星海湾壹号", "中南路", "马栏广场", "西安路", "春柳河", "黑石礁", "李家街", "五一广场"]
COMPANIES = {
    "labour": ["大连{e}建筑劳务有限公司", "大连{e}餐饮管理有限公司", "大连{e}装饰工程有限公司"],
    "property_mgmt": ["大连{e}物业服务有限公司", "大连{e}物业管理有限公司"],
    "consumer": ["大连{e}商贸有限公司", "大连{e}健身服务有限公司", "大连{e}教育咨询有限公司"],
    "medical": ["大连{e}口腔门诊部", "大连{e}医院"],
    "demolition": ["沙河口区房屋征收服务中心"],
    "environment": ["大连{e}餐饮有限公司", "大连{e}建设工程有限公司"],
}
DESCRIPTIONS = {
    "neighbour": ["楼上卫生间漏水殃及楼下，双方对维修费用分担有争议",
                  "邻居在楼道堆放杂物，多次协商未果发生口角", "装修噪声扰民，双方发生争执",
                  "相邻两户因共用院墙维修费用产生纠纷"],
    "marriage_family": ["子女对赡养老人费用分担有争议", "离婚后子女抚养费支付发生纠纷",
                        "兄弟姐妹因父母遗留房屋继承发生争执", "夫妻感情不和，多次发生争吵"],
    "property_mgmt": ["业主以服务质量差为由拒交物业费，与物业公司发生争执",
                      "小区电梯长期故障，业主与物业公司协商维修未果",
                      "地下车位管理费标准引发业主与物业公司纠纷"],
    "labour": ["工地拖欠{n}名工人工资约{m}万元", "餐饮店辞退员工未支付经济补偿",
               "装修工人工伤医疗费用承担发生争议"],
    "land": ["两户对房前空地使用界限有争议", "院内公共用地被个人圈占引发纠纷"],
    "traffic": ["电动车与行人相撞致轻伤，对赔偿数额有争议", "小区内车辆剐蹭，双方对责任认定有分歧"],
    "medical": ["拔牙后感染，患者要求门诊部赔偿", "对医院收费项目和治疗效果有异议"],
    "consumer": ["健身房关店后拒不退还预付会员费", "网购家具质量问题退换货发生纠纷",
                 "培训机构停课后拒不退费"],
    "demolition": ["对房屋征收补偿评估结果有异议", "征收过渡费发放标准有争议"],
    "housing": ["房屋租赁到期后押金退还发生纠纷", "二手房买卖中介费退还发生争议",
                "合租人之间水电费分摊发生纠纷"],
    "environment": ["楼下饭店油烟直排影响居民生活", "工地夜间施工噪声扰民"],
    "other": ["宠物犬咬伤邻居，对赔偿费用有争议", "高空抛物砸坏车辆，责任人不明引发纠纷"],
}  # fmt: skip
TERMS = {
    "neighbour": "{b}于{d}日内完成维修，并一次性补偿{a}损失{x}元",
    "marriage_family": "{b}自本月起每月向{a}支付{x}元，按月履行",
    "property_mgmt": "{b}于{d}日内完成维修，{a}补交物业费{x}元",
    "labour": "{b}于{d}日内一次性支付{a}工资及补偿共计{x}元",
    "consumer": "{b}于{d}日内退还{a}预付款{x}元",
}
DEFAULT_TERMS = "{b}于{d}日内一次性赔偿{a}{x}元，双方就此纠纷再无争议"
MANNERS = ["一次性现金支付", "银行转账", "按约定分期支付", "当场履行", "限期完成维修"]
TERMINATIONS = [
    "双方对赔偿数额分歧较大，经多次调解未能达成一致",
    "被申请人拒绝继续参加调解",
    "纠纷涉及专业鉴定，双方同意通过诉讼解决",
    "当事人坚持通过仲裁解决",
]
ROUTES_BY_CATEGORY = {"labour": ["arbitration", "litigation"], "demolition": ["administrative"]}


def _at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=TZ)


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _month_starts(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        out.append(dt.date(year, month + 1, 1))
    return out


@dataclass
class Course:
    """What happens to one dispute (decided up front, run by the builder)."""

    mediate: bool = False
    outcome: str = "resolve"  # direct: resolve/stabilise/fail/divert/open; case: see CASE_OUTCOMES
    type: str = "people"
    form: str = "written"
    confirm: bool = False
    quick: bool = False  # short intervals, so the step chain fits in a small build
    after: str = ""  # what happens to the dispute after a failed mediation: divert/stabilise/""


@dataclass
class Planned:
    dispute: Dispute
    street: str
    course: Course
    parties: list[dict] = field(default_factory=list)
    accepted_at: dt.datetime | None = None


def mediation_demo_exists() -> bool:
    return ScreeningRound.objects.filter(name__endswith=DEMO_SUFFIX).exists()


def _demo_disputes():
    # The demo turns petitions into disputes as the demo bureau user (and only the demo does).
    bureau = get_user_model().objects.filter(username="bureau").first()
    from_petitions = Q(source=Dispute.Source.PETITION, recorded_by=bureau) if bureau else Q(pk=None)
    return Dispute.objects.filter(Q(round__name__endswith=DEMO_SUFFIX) | from_petitions)


def mediation_demo_clear() -> int:
    """Delete the demo rounds, their disputes and the cases opened from them; the row count."""
    with transaction.atomic():
        disputes = _demo_disputes()
        deleted, _by_model = MediationCase.objects.filter(dispute__in=disputes).delete()
        n, _by_model = disputes.delete()
        m, _by_model = ScreeningRound.objects.filter(name__endswith=DEMO_SUFFIX).delete()
    return deleted + n + m


class MediationDemoBuilder:
    """One build: people and committees, rounds and disputes, then each case through its steps."""

    def __init__(self, *, seed: int, months: int, today: dt.date | None, per_round: tuple):
        self.rng = random.Random(seed)
        self.months, self.per_round = months, per_round
        now = timezone.now()
        self.horizon = now if today is None else min(now, _at(today, 17 * 60 + 30))
        self.today = deadlines.local_date(self.horizon)
        self.generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
        if self.generation is None:
            raise RuntimeError("no active boundary generation: run grid_demo first")
        self.counts: Counter = Counter()

    # --- set-up ------------------------------------------------------------------------------

    def setup(self) -> None:
        district = District.objects.get(generation=self.generation)
        self.district_code = district.code
        self.streets = dict(
            Street.objects.filter(generation=self.generation).values_list("code", "name")
        )
        self.demo_street = DEMO_STREET if DEMO_STREET in self.streets else min(self.streets)
        self.users = self.demo_users()
        self.committees = {code: self.committee(code, name) for code, name in self.streets.items()}
        self.mediators = {code: self.street_mediators(code) for code in self.streets}
        self.workers = {code: self.street_worker(code) for code in self.streets}
        self.cells: dict[str, list[tuple[str, shapely.Geometry]]] = {c: [] for c in self.streets}
        rows = GridCell.objects.filter(generation=self.generation).order_by("code")
        for code, geom in rows.values_list("code", "geom"):
            shape = shapely.from_wkb(bytes(geom.wkb))
            shapely.prepare(shape)
            self.cells[code[:9]].append((code, shape))
        self.worker_cells = set(
            GridAssignment.objects.filter(
                user=self.users["grid_worker"], cell__generation=self.generation
            ).values_list("cell__code", flat=True)
        )

    def demo_users(self) -> dict:
        user_model = get_user_model()
        wanted = ["bureau", "street_clerk", "grid_worker", "mediator"]
        found = {u.username: u for u in user_model.objects.filter(username__in=wanted)}
        if len(found) < len(wanted):
            from grid.services.demo import demo_users_create

            demo_users_create(generation=self.generation)
            found = {u.username: u for u in user_model.objects.filter(username__in=wanted)}
        self.grant(found["bureau"], Role.BUREAU, area=self.district_code)
        self.grant(found["grid_worker"], Role.GRID_WORKER)
        return found

    def grant(self, user, role: str, *, area: str = "", organization=None) -> None:
        Grant.objects.get_or_create(user=user, role=role, area_code=area, organization=organization)

    def committee(self, code: str, name: str) -> Organization:
        """The street's people's mediation committee (petitions_demo makes them; else here)."""
        kind = Organization.Kind.COMMITTEE
        found = (
            Organization.objects.filter(kind=kind, is_active=True, area_code__startswith=code)
            .order_by("area_code", "pk")
            .first()
        )
        if found is None:
            found, _c = Organization.objects.get_or_create(
                name=f"{name}人民调解委员会", defaults={"kind": kind, "area_code": code}
            )
        if code == self.demo_street:
            self.grant(self.users["mediator"], Role.MEDIATOR, organization=found)
        return found

    def staff(self, username: str, label: str, role: str, **grant) -> object:
        """A generated member of staff: no password (they cannot sign in), one grant."""
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": label}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        self.grant(user, role, **grant)
        return user

    def street_mediators(self, code: str) -> list:
        committee = self.committees[code]
        out = [self.users["mediator"]] if code == self.demo_street else []
        for n in range(1, MEDIATORS_PER_COMMITTEE + 1):
            label = f"{self.person_name(random.Random(f'{code}-{n}'))}（调解员）"
            user = self.staff(f"med_{code}_{n}", label, Role.MEDIATOR, organization=committee)
            out.append(user)
        return out

    def street_worker(self, code: str):
        label = f"{self.streets[code]}网格员"
        return self.staff(f"gw_{code}", label, Role.GRID_WORKER, area=code)

    # --- names and texts ---------------------------------------------------------------------

    def person_name(self, rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))

    def party_names(self, category: str, count: int) -> list[str]:
        names: list[str] = []
        while len(names) < min(count, 3):
            name = self.person_name()
            if name not in names:
                names.append(name)
        if category in COMPANIES and count > 1 and self.rng.random() < 0.7:
            company = self.rng.choice(COMPANIES[category]).format(e=self.rng.choice(ESTATES))
            names[1] = company  # the respondent (a co-party, if any, joins the applicant)
        return names

    def description(self, category: str) -> str:
        text = self.rng.choice(DESCRIPTIONS[category])
        return text.format(n=self.rng.randint(3, 25), m=self.rng.randint(2, 40))

    def point_in(self, street: str, prefer_worker: bool) -> tuple[str, tuple[float, float]]:
        cells = self.cells[street]
        if prefer_worker and self.worker_cells:
            cells = [c for c in cells if c[0] in self.worker_cells] or cells
        code, shape = self.rng.choice(cells)
        minx, miny, maxx, maxy = shape.bounds
        while True:
            x, y = round(self.rng.uniform(minx, maxx), 7), round(self.rng.uniform(miny, maxy), 7)
            if shape.contains_properly(shapely.Point(x, y)):
                return code, (x, y)

    # --- rounds and disputes -----------------------------------------------------------------

    def rounds(self) -> list[Planned]:
        planned: list[Planned] = []
        for start in _month_starts(self.today, self.months):
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            for code in sorted(self.streets):
                planned += self.street_round(code, start, end)
        return planned

    def street_round(self, code: str, start: dt.date, end: dt.date) -> list[Planned]:
        opener = self.users["street_clerk"] if code == self.demo_street else self.users["bureau"]
        opened_at = _at(start, 9 * 60)
        if opened_at > self.horizon:
            return []
        screening_round = sc.round_open(
            actor=opener,
            name=f"{self.streets[code]}{start.year}年{start.month}月矛盾纠纷排查{DEMO_SUFFIX}",
            period_start=start,
            period_end=end,
            area_code=code,
            now=opened_at,
        )
        self.counts["rounds"] += 1
        last = min(_at(end, 18 * 60), self.horizon - dt.timedelta(hours=3))
        span = (last - opened_at).total_seconds()
        n = self.rng.randint(*self.per_round)
        if end > self.today:  # the running month: as many as the days gone by would bring
            n = round(n * max(span, 0) / ((_at(end, 18 * 60) - opened_at).total_seconds()))
        found = sorted(
            opened_at + dt.timedelta(seconds=self.rng.uniform(0, span)) for _i in range(n)
        )
        planned = [self.dispute(code, screening_round, at) for at in found]
        close_at = _at(end + dt.timedelta(days=1), 10 * 60)
        if close_at <= self.horizon:
            sc.round_close(round=screening_round, actor=opener, now=close_at)
        return planned

    def dispute(self, code: str, screening_round, found_at: dt.datetime) -> Planned:
        rng, k = self.rng, self.counts["disputes"]
        # The first disputes go through every category and risk level, then by weight.
        categories = list(CATEGORY_WEIGHTS)
        category = categories[k] if k < len(categories) else _pick(rng, CATEGORY_WEIGHTS)
        risk = list(RISK_WEIGHTS)[k] if k < len(RISK_WEIGHTS) else _pick(rng, RISK_WEIGHTS)
        count = rng.choice((2, 2, 2, 3, 4)) if category != "labour" else rng.randint(2, 20)
        names = self.party_names(category, count)
        cell, point = self.point_in(code, code == self.demo_street and rng.random() < 0.35)
        recorder = self.users["grid_worker"] if cell in self.worker_cells else self.workers[code]
        dispute = sc.dispute_record(
            actor=recorder,
            category=category,
            party_count=count,
            party_names=names,
            description=self.description(category),
            risk_level=risk,
            location=point,
            address=f"{rng.choice(ESTATES)}小区{rng.randint(1, 40)}号楼",
            round=screening_round,
            found_at=found_at,
        )
        self.counts["disputes"] += 1
        return Planned(dispute=dispute, street=code, course=Course())

    def petition_disputes(self, limit: int) -> list[Planned]:
        """Open petitions about family, neighbours or property management become disputes."""
        petitions = list(
            Petition.objects.filter(
                Q(category__code__startswith="11") | Q(category__code__startswith="05"),
                status__in=(Petition.Status.REGISTERED, Petition.Status.HANDLING),
                received_at__lte=self.horizon - dt.timedelta(days=3),
            )
            .exclude(case_type=Petition.CaseType.ACCUSATION)
            .exclude(disputes__isnull=False)
            .select_related("category")
            .order_by("received_at", "pk")
        )
        planned = []
        for petition in self.rng.sample(petitions, min(limit, len(petitions))):
            code = petition.category.code
            category = {"1101": "marriage_family", "1102": "neighbour"}.get(code, "property_mgmt")
            at = petition.received_at + dt.timedelta(days=self.rng.randint(1, 3))
            try:
                with transaction.atomic():
                    dispute = sc.dispute_from_petition(
                        petition=petition,
                        actor=self.users["bureau"],
                        category=category,
                        risk_level=_pick(self.rng, RISK_WEIGHTS),
                        now=min(at, self.horizon),
                    )
            except ValidationError:
                self.counts["petition_skipped"] += 1
                continue
            self.counts["petition_disputes"] += 1
            street = dispute.area_code[:9] if dispute.area_code[:9] in self.streets else None
            planned.append(
                Planned(
                    dispute=dispute,
                    street=street or self.demo_street,
                    course=Course(mediate=True, outcome="agree", form="oral", quick=True),
                )
            )
        return planned

    # --- the plan ----------------------------------------------------------------------------

    FORCED = [
        Course(True, "agree", "people", "written", confirm=True, quick=True),
        Course(True, "agree", "administrative", "oral", quick=True),
        Course(True, "agree", "judicial", "written", confirm=True, quick=True),
        Course(True, "agree", "people", "oral", confirm=True, quick=True),
        Course(True, "terminate", "people", quick=True, after="divert"),
        Course(True, "refuse", "people", quick=True, after="stabilise"),
        Course(False, "stabilise"),
        Course(False, "fail"),
        Course(False, "divert"),
        Course(False, "resolve"),
    ]

    def plan(self, planned: list[Planned]) -> None:
        """Decide each dispute's course; the oldest take one of every course, the newest stay
        open (one found, one in mediation), the rest by weight."""
        old_enough = self.horizon - dt.timedelta(days=35)
        forced = iter(self.FORCED)
        for p in planned:
            if p.dispute.source == Dispute.Source.PETITION:
                continue
            course = next(forced, None) if p.dispute.found_at <= old_enough else None
            p.course = replace(course) if course else self.random_course(p.dispute)
        screened = [p for p in planned if p.dispute.source != Dispute.Source.PETITION]
        if len(screened) >= 2:
            screened[-1].course = Course(False, "open")
            screened[-2].course = Course(True, "linger", quick=True)

    def random_course(self, dispute: Dispute) -> Course:
        rng = self.rng
        if rng.random() >= MEDIATE_SHARE:
            return Course(False, _pick(rng, DIRECT_OUTCOMES))
        kind = _pick(rng, TYPES)
        outcome = _pick(rng, CASE_OUTCOMES)
        oral_share = 0.5 if dispute.risk_level == "general" else 0.2
        return Course(
            True,
            outcome,
            kind,
            "oral" if rng.random() < oral_share else "written",
            confirm=rng.random() < (0.2 if kind != "administrative" else 0.08),
            after=_pick(rng, {"divert": 50, "stabilise": 30, "": 20}),
        )

    def parties(self, p: Planned) -> list[dict]:
        names = list(p.dispute.party_names)
        while len(names) < 2:
            name = self.person_name()
            if name not in names:
                names.append(name)
        rows = []
        for i, name in enumerate(names):
            role = "applicant" if i == 0 or (i > 1 and i % 2 == 0) else "respondent"
            is_person = not name.endswith(("公司", "中心", "医院", "门诊部"))
            phone = f"1{self.rng.choice('3578')}{self.rng.randint(0, 999999999):09d}"
            rows.append(
                {
                    "role": role,
                    "name": name,
                    "phone": phone if is_person else "",
                    "address": p.dispute.address if is_person else "",
                }
            )
        return rows

    # --- cases -------------------------------------------------------------------------------

    def later(self, t: dt.datetime, days: int) -> dt.datetime:
        """A moment in office hours `days` calendar days after `t` (after `t` on that day)."""
        day = deadlines.local_date(t) + dt.timedelta(days=days)
        at = _at(day, self.rng.randint(8 * 60 + 40, 17 * 60))
        return at if at > t else t + dt.timedelta(minutes=self.rng.randint(10, 90))

    def open_cases(self, planned: list[Planned]) -> list[tuple[Planned, MediationCase]]:
        """Open every planned case in order of acceptance (case numbers follow time)."""
        for p in planned:
            if p.course.mediate:
                delay = 0 if p.course.quick else self.rng.choice((0, 1, 1, 2, 3, 5))
                p.accepted_at = self.later(p.dispute.found_at, delay)
                if p.course.outcome == "linger":
                    p.accepted_at = p.dispute.found_at + dt.timedelta(minutes=30)
        due = [p for p in planned if p.accepted_at is not None and p.accepted_at <= self.horizon]
        opened = []
        for p in sorted(due, key=lambda p: p.accepted_at):
            c = p.course
            if p.dispute.source == Dispute.Source.PETITION:
                source = "petition_office"
            else:
                source = _pick(self.rng, SOURCES[c.type])
            mediators = self.rng.sample(self.mediators[p.street], 1 + (self.rng.random() < 0.3))
            p.parties = self.parties(p)
            case = mc.mediation_open(
                actor=mediators[0],
                type=c.type,
                source=source,
                committee=self.committees[p.street],
                summary=f"{p.dispute.get_category_display()}纠纷：{p.dispute.description}"[:200],
                parties=p.parties,
                dispute=p.dispute,
                petition=p.dispute.petition,
                mediators=mediators,
                accepted_at=p.accepted_at,
            )
            opened.append((p, case))
        return opened

    def run_petition_case(self, p: Planned, case: MediationCase) -> None:
        """A case opened from a petition settles it through the petition services; should the
        petition's own course refuse a step, the case is left open rather than the build fail."""
        try:
            with transaction.atomic():
                self.run_case(p, case)
        except ValidationError:
            self.counts["petition_skipped"] += 1

    def run_case(self, p: Planned, case: MediationCase) -> None:
        c, rng = p.course, self.rng
        actor = case.mediators.first()
        outcome_days = 2 if c.quick else rng.choice([*range(3, 26), 33, 40, 48])
        if c.outcome == "refuse":
            outcome_days = 1 if c.quick else rng.randint(1, 5)
        outcome_at = self.later(p.accepted_at, outcome_days)
        sessions = 0 if c.outcome == "refuse" else (1 if c.quick else rng.randint(1, 3))
        if c.outcome == "linger":
            sessions = 1
        for i in range(sessions):
            span = max((outcome_at - p.accepted_at).days, 1)
            held = self.later(p.accepted_at, min(span - 1, (i * span) // max(sessions, 1)))
            if held > self.horizon or held >= outcome_at:
                break
            mc.mediation_session_add(
                case=case,
                actor=actor,
                held_at=held,
                place=rng.choice(["调解室", "社区调解室", "当事人家中", "网格服务站"]),
                attendees="、".join([*(x["name"] for x in p.parties), actor.get_full_name()]),
                notes=rng.choice(["听取双方陈述，释法明理", "双方各自提出方案，约定再次调解"]),
            )
        if c.outcome == "linger" or outcome_at > self.horizon:
            return
        if c.outcome == "refuse":
            respondent = next(x["name"] for x in p.parties if x["role"] == "respondent")
            mc.mediation_refuse(case=case, actor=actor, party_name=respondent, now=outcome_at)
            self.after_failure(p, outcome_at)
        elif c.outcome == "terminate":
            routes = ROUTES_BY_CATEGORY.get(p.dispute.category, ["litigation", "petition"])
            routes = rng.sample(routes, rng.randint(1, len(routes)))
            mc.mediation_terminate(
                case=case,
                actor=actor,
                reason=rng.choice(TERMINATIONS),
                other_routes=routes,
                now=outcome_at,
            )
            self.after_failure(p, outcome_at, routes)
        else:
            self.agree(p, case, actor, outcome_at)

    def after_failure(self, p: Planned, at: dt.datetime, routes=("litigation",)) -> None:
        then = self.later(at, self.rng.randint(2, 20) if not p.course.quick else 2)
        if not p.course.after or then > self.horizon:
            return
        if p.course.after == "divert":
            sc.dispute_close(
                dispute=p.dispute,
                actor=self.workers[p.street],
                outcome="divert",
                diverted_to=routes[0],
                note="当事人已向有关机关提出",
                now=then,
            )
        else:
            sc.dispute_close(
                dispute=p.dispute,
                actor=self.workers[p.street],
                outcome="stabilise",
                note="当事人情绪稳定，持续关注",
                now=then,
            )

    def agree(self, p: Planned, case: MediationCase, actor, at: dt.datetime) -> None:
        rng, c = self.rng, p.course
        applicant = next(x["name"] for x in p.parties if x["role"] == "applicant")
        respondent = next(x["name"] for x in p.parties if x["role"] == "respondent")
        days = rng.choice((7, 10, 15, 30))
        terms = TERMS.get(p.dispute.category, DEFAULT_TERMS).format(
            a=applicant, b=respondent, d=days, x=rng.randrange(500, 30000, 100)
        )
        agreement = mc.mediation_agree(
            case=case,
            actor=actor,
            form=c.form,
            facts=p.dispute.description,
            terms=terms,
            performance_manner=rng.choice(MANNERS),
            performance_deadline=deadlines.local_date(at) + dt.timedelta(days=days),
            reached_at=at,
        )
        effective = at
        if c.form == "written":
            effective = self.sign_and_seal(p, agreement, actor, at)
            if effective is None:
                return
        self.follow_ups(p, agreement, actor, effective)
        if c.confirm:
            self.confirmation(agreement, actor, effective, quick=c.quick)

    def sign_and_seal(self, p: Planned, agreement, actor, at: dt.datetime) -> dt.datetime | None:
        """Each party signs (most the same day), then the committee seals; None if not yet."""
        moment = at
        for party in p.parties:
            if not p.course.quick and self.rng.random() < 0.2:
                moment = self.later(moment, self.rng.randint(1, 2))
            else:
                moment = moment + dt.timedelta(minutes=self.rng.randint(2, 20))
            if moment > self.horizon:
                return None
            mc.agreement_sign(
                agreement=agreement, actor=actor, party_name=party["name"], now=moment
            )
        moment = moment + dt.timedelta(minutes=self.rng.randint(5, 30))
        if moment > self.horizon:
            return None
        mc.agreement_seal(agreement=agreement, actor=actor, now=moment)
        return moment

    def follow_ups(self, p: Planned, agreement, actor, effective: dt.datetime) -> None:
        rng = self.rng
        visit = self.later(effective, 5 if p.course.quick else rng.randint(7, 20))
        performance = "full" if p.course.quick else _pick(rng, PERFORMANCE)
        visitor = actor if rng.random() < 0.7 else self.workers[p.street]
        for _n in range(2):
            if visit > self.horizon:
                return
            mc.follow_up_record(
                agreement=agreement,
                actor=visitor,
                performance=performance,
                notes={
                    "full": "协议已全部履行，双方无异议",
                    "partial": "已履行部分款项，约定月底前付清",
                    "none": "被申请人尚未履行，继续督促",
                }[performance],  # fmt: skip
                visited_at=visit,
            )
            if performance == "full" or rng.random() < 0.3:
                return
            visit = self.later(visit, rng.randint(20, 40))
            performance = "full" if rng.random() < 0.7 else "partial"

    def confirmation(self, agreement, actor, effective: dt.datetime, *, quick: bool) -> None:
        """A joint application within the 30 days (第三十三条), then the court's ruling."""
        rng = self.rng
        start = deadlines.local_date(effective)
        window = 5 if quick else mc.CONFIRMATION_DAYS - 2
        applied = start + dt.timedelta(days=rng.randint(1, window))
        if applied > self.today:
            return
        confirmation = mc.confirmation_apply(
            agreement=agreement,
            actor=actor,
            applied_at=applied,
            court=COURT,
            now=min(_at(applied, 10 * 60), self.horizon),
        )
        decided = applied + dt.timedelta(days=rng.randint(3, 15))
        if decided > self.today:
            return
        mc.confirmation_decide(
            confirmation=confirmation,
            actor=actor,
            decision="confirmed" if rng.random() < 0.92 else "rejected",
            decided_at=decided,
            now=min(_at(decided, 15 * 60), self.horizon),
        )

    # --- disputes closed without mediation ---------------------------------------------------

    def close_directly(self, p: Planned) -> None:
        outcome = p.course.outcome
        if outcome == "open":
            return
        rng = self.rng
        at = self.later(p.dispute.found_at, rng.choice((0, 1, 2, 3, 5, 7, 10, 14, 20)))
        if at > self.horizon:
            return
        diverted_to = _pick(rng, DIVERSIONS) if outcome == "divert" else ""
        if p.dispute.category == "labour" and outcome == "divert":
            diverted_to = "arbitration"
        sc.dispute_close(
            dispute=p.dispute,
            actor=p.dispute.recorded_by,
            outcome=outcome,
            diverted_to=diverted_to,
            note={
                "resolve": "经网格员现场调处，双方达成谅解",
                "stabilise": "已做好稳控工作，持续跟进",
                "fail": "双方分歧较大，暂未化解",
                "divert": "已引导当事人通过法定途径解决",
            }[outcome],  # fmt: skip
            now=at,
        )

    # --- the build ---------------------------------------------------------------------------

    def build(self) -> dict:
        started = time.monotonic()
        self.setup()
        planned = self.rounds()
        self.plan(planned)
        planned += self.petition_disputes(limit=max(2, self.months // 4))
        for p, case in self.open_cases(planned):
            if p.dispute.petition_id:
                self.run_petition_case(p, case)
            else:
                self.run_case(p, case)
        for p in planned:
            if not p.course.mediate:
                self.close_directly(p)
        return {
            **mediation_demo_summary(),
            "created": True,
            "petition_disputes": self.counts["petition_disputes"],
            "petition_skipped": self.counts["petition_skipped"],
            "seconds": time.monotonic() - started,
        }


def mediation_demo_summary() -> dict:
    """What the demo records add up to (all disputes and cases, demo or not)."""
    agreements = Agreement.objects.all()
    confirmations = JudicialConfirmation.objects.select_related("agreement")
    window = [
        (c.applied_at - deadlines.local_date(c.agreement.effective_at)).days for c in confirmations
    ]
    return {
        "rounds": ScreeningRound.objects.count(),
        "rounds_open": ScreeningRound.objects.filter(status="open").count(),
        "disputes": Dispute.objects.count(),
        "disputes_by_status": dict(Counter(Dispute.objects.values_list("status", flat=True))),
        "disputes_by_category": dict(Counter(Dispute.objects.values_list("category", flat=True))),
        "disputes_by_risk": dict(Counter(Dispute.objects.values_list("risk_level", flat=True))),
        "disputes_from_petitions": Dispute.objects.filter(source="petition").count(),
        "cases": MediationCase.objects.count(),
        "cases_by_status": dict(Counter(MediationCase.objects.values_list("status", flat=True))),
        "cases_by_type": dict(Counter(MediationCase.objects.values_list("type", flat=True))),
        "agreements_by_form": dict(Counter(agreements.values_list("form", flat=True))),
        "agreements_effective": agreements.filter(effective_at__isnull=False).count(),
        "follow_ups": FollowUpVisit.objects.count(),
        "follow_ups_by_performance": dict(
            Counter(FollowUpVisit.objects.values_list("performance", flat=True))
        ),
        "confirmations": len(window),
        "confirmations_max_days": max(window, default=None),
        "confirmations_by_decision": dict(Counter(c.decision for c in confirmations)),
    }


def mediation_demo_build(
    *, seed: int = 2026, months: int = 24, today: dt.date | None = None, per_round=(3, 6)
) -> dict:
    """Build the demo rounds, disputes and cases (one transaction) unless they exist already;
    returns the summary, with created=False when nothing was built."""
    if mediation_demo_exists():
        return {**mediation_demo_summary(), "created": False, "seconds": 0.0}
    builder = MediationDemoBuilder(seed=seed, months=months, today=today, per_round=per_round)
    with transaction.atomic():
        return builder.build()
