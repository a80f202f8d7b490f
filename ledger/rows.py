"""The ledger's columns: our fields, the Chinese headers that suggest them, and the checks that
turn one row of cell values into a registration record or a list of row errors (in Chinese).

The same checks serve the dry run and the commit run, so a dry run finds every error the commit
would find before any write (the commit may still meet a rule of the services, recorded likewise).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grid.coords import out_of_china
from petitions.models import Category, Organization, Petition
from petitions.validators import (
    normalize_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
)


@dataclass(frozen=True)
class Field:
    key: str
    label: Promise
    required: bool = False
    aliases: tuple[str, ...] = ()  # header names matched exactly (after normalisation)
    keywords: tuple[str, ...] = ()  # matched when contained in a header


# Order matters for keyword matching: the more specific fields come first ("答复日期" is a reply
# date before it is a date; "信访人身份证号" is an identity number before it is a name).
FIELDS: tuple[Field, ...] = (
    Field(
        "external_ref",
        gettext_lazy("原编号"),
        aliases=(
            "编号",
            "原编号",
            "台账编号",
            "信访编号",
            "登记编号",
            "案件编号",
            "件号",
            "流水号",
        ),
        keywords=("编号",),
    ),
    Field(
        "id_number",
        gettext_lazy("身份证号"),
        aliases=("身份证号", "身份证号码", "身份证", "证件号码", "公民身份号码", "信访人身份证号"),
        keywords=("身份证", "证件号", "身份号码"),
    ),
    Field(
        "phone",
        gettext_lazy("联系电话"),
        aliases=("联系电话", "电话", "手机", "手机号", "手机号码", "电话号码", "联系方式"),
        keywords=("电话", "手机"),
    ),
    Field(
        "reply_date",
        gettext_lazy("答复日期"),
        aliases=("答复日期", "办结日期", "答复时间", "办结时间", "结案日期", "回复日期"),
        keywords=("答复日期", "答复时间", "办结日期", "办结时间", "结案"),
    ),
    Field(
        "reply_text",
        gettext_lazy("答复意见"),
        aliases=(
            "答复意见",
            "处理结果",
            "办理结果",
            "答复内容",
            "处理意见",
            "办理意见",
            "答复情况",
        ),
        keywords=("答复", "结果"),
    ),
    Field("longitude", gettext_lazy("经度"), aliases=("经度", "lng", "lon", "longitude", "x")),
    Field("latitude", gettext_lazy("纬度"), aliases=("纬度", "lat", "latitude", "y")),
    Field(
        "received_date",
        gettext_lazy("登记日期"),
        required=True,
        aliases=(
            "登记日期",
            "来信来访日期",
            "来信日期",
            "来访日期",
            "信访日期",
            "收到日期",
            "收信日期",
            "日期",
            "登记时间",
            "来信来访时间",
        ),
        keywords=("日期", "时间"),
    ),
    Field(
        "channel",
        gettext_lazy("信访形式"),
        required=True,
        aliases=("信访形式", "信访方式", "形式", "方式", "来信来访方式", "信访渠道", "渠道"),
        keywords=("形式", "方式"),
    ),
    Field(
        "name",
        gettext_lazy("信访人姓名"),
        aliases=("信访人", "姓名", "信访人姓名", "来信来访人", "反映人", "当事人"),
        keywords=("姓名", "信访人"),
    ),
    Field(
        "address",
        gettext_lazy("住址"),
        aliases=("住址", "地址", "家庭住址", "现住址", "联系地址", "居住地址", "详细地址"),
        keywords=("地址", "住址"),
    ),
    Field(
        "case_type",
        gettext_lazy("事项类型"),
        aliases=("事项类型", "信访类型", "诉求类型", "信访事项类型"),
        keywords=("类型",),
    ),
    Field(
        "category",
        gettext_lazy("问题分类"),
        required=True,
        aliases=("问题分类", "问题类别", "分类", "类别", "问题性质", "问题类型"),
        keywords=("分类", "类别"),
    ),
    Field(
        "handling_unit",
        gettext_lazy("承办单位"),
        aliases=(
            "承办单位",
            "责任单位",
            "办理单位",
            "交办单位",
            "转办单位",
            "承办部门",
            "责任部门",
        ),
        keywords=("单位", "部门"),
    ),
    Field(
        "status",
        gettext_lazy("办理状态"),
        aliases=("办理状态", "状态", "办理情况", "办结情况", "办理进度", "是否办结"),
        keywords=("状态", "进度"),
    ),
    Field(
        "summary",
        gettext_lazy("反映问题"),
        required=True,
        aliases=(
            "反映问题",
            "内容摘要",
            "主要问题",
            "问题摘要",
            "信访事项",
            "反映内容",
            "主要内容",
            "诉求",
            "诉求内容",
            "信访内容",
            "事由",
            "概要",
            "摘要",
        ),
        keywords=("问题", "摘要", "诉求"),
    ),
    Field(
        "content", gettext_lazy("详细内容"), aliases=("详细内容", "具体内容", "全文", "信访全文")
    ),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
REQUIRED = tuple(f.key for f in FIELDS if f.required)

_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SPACE = re.compile(r"\s+")


def header_text(value) -> str:
    """A header cell as shown to the user (one line, trimmed)."""
    if value is None:
        return ""
    return _SPACE.sub(" ", str(value)).strip()


def normalize_header(value) -> str:
    """Header text for matching: full-width → half-width, no spaces, no '*', no '(必填)'."""
    text = unicodedata.normalize("NFKC", header_text(value))
    text = _PARENS.sub("", text).replace("*", "").replace(" ", "").rstrip(":")
    return text.lower()


def _header_match(header: str) -> tuple[int, str] | None:
    """(2 for an exact alias, 1 for a keyword; field key) for one normalised header."""
    for f in FIELDS:
        if header in f.aliases:
            return 2, f.key
    for f in FIELDS:
        if any(k in header for k in f.keywords):
            return 1, f.key
    return None


def header_score(row: tuple) -> int:
    """How many cells of a row look like ledger headers (finds the header row)."""
    return sum(1 for v in row if isinstance(v, str) and _header_match(normalize_header(v)))


def mapping_suggest(headers: list[str]) -> dict[str, str]:
    """Our field → column header, from the usual Chinese ledger headers: exact names first, then
    headers containing a keyword; each field and each column used at most once."""
    matches = []
    for position, header in enumerate(headers):
        found = _header_match(normalize_header(header))
        if found:
            matches.append((-found[0], position, found[1], header))
    mapping: dict[str, str] = {}
    used: set[int] = set()
    for _rank, position, key, header in sorted(matches):
        if key not in mapping and position not in used:
            mapping[key] = header
            used.add(position)
    return {f.key: mapping[f.key] for f in FIELDS if f.key in mapping}


def mapping_check(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The mapping with unknown fields and empty choices dropped; ValidationError (per field)
    when a required field is missing, a header does not exist, or a column is used twice."""
    errors: dict[str, list[str]] = {}
    clean = {k: v for k, v in mapping.items() if k in FIELD_BY_KEY and v}
    for key in REQUIRED:
        if key not in clean:
            errors.setdefault(key, []).append(_("必须指定这一列。"))
    seen: dict[str, str] = {}
    for key, header in clean.items():
        if header not in headers:
            errors.setdefault(key, []).append(_("文件中没有“%(h)s”这一列。") % {"h": header})
        elif header in seen:
            errors.setdefault(key, []).append(
                _("“%(h)s”已对应到“%(f)s”。") % {"h": header, "f": FIELD_BY_KEY[seen[header]].label}
            )
        else:
            seen[header] = key
    if errors:
        raise ValidationError(errors)
    return clean


# --- Values --------------------------------------------------------------------------------------


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).replace(" ", "").lower()


CHANNELS = {
    _norm(label): value
    for value, labels in {
        "letter": ("来信", "信件", "写信", "群众来信", "书信", "letter"),
        "visit": ("来访", "走访", "上访", "来访接待", "当面", "个人访", "集体访", "visit"),
        "online": (
            "网上信访",
            "网上",
            "网信",
            "网络",
            "网上投诉",
            "领导信箱",
            "电子邮件",
            "邮件",
            "online",
        ),
        "phone": ("电话", "来电", "电话反映", "热线", "phone"),
        "fax": ("传真", "fax"),
    }.items()
    for label in labels
}
CASE_TYPES = {
    _norm(label): value
    for value, labels in {
        "suggestion": ("建议意见类", "建议意见", "建议", "意见", "suggestion"),
        "accusation": ("检举控告类", "检举控告", "检举", "控告", "举报", "accusation"),
        "appeal": ("申诉求决类", "申诉求决", "申诉", "求决", "appeal"),
    }.items()
    for label in labels
}
STATUSES = {
    _norm(label): value
    for value, labels in {
        "registered": ("已登记", "登记", "待受理", "未受理", "待处理", "待办", "registered"),
        "handling": (
            "办理中",
            "在办",
            "正在办理",
            "已受理",
            "受理",
            "未办结",
            "处理中",
            "已转办",
            "已交办",
            "handling",
        ),
        "replied": ("已答复", "答复", "replied"),
        "closed": ("已办结", "办结", "已结", "结案", "已结案", "完结", "已完成", "closed"),
        "not_accepted": ("不予受理", "不受理", "not_accepted"),
    }.items()
    for label in labels
}
SUMMARY_MAX = Petition._meta.get_field("summary").max_length
NAME_MAX = 50
ADDRESS_MAX = 200
REF_MAX = 100
RAW_MAX = 200
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
EXCEL_EPOCH = dt.date(1899, 12, 30)
_CATEGORY_SPLIT = re.compile(r"\s*[/\\>|、\-—–]\s*")


def cell_text(value) -> str:
    """A cell as text: whole numbers without '.0', dates as ISO dates, strings trimmed."""
    if type(value) is str:  # the common case first: every CSV cell
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_date(value) -> dt.date | None:
    """A ledger date: an Excel date, an Excel serial number, 2024-05-06, 2024/5/6, 2024.5.6,
    2024年5月6日, 20240506 (a time after the date is ignored). None when unparseable."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    try:
        if m := _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        serial = float(text)
    except ValueError:
        return None
    if 20000 <= serial < 80000 and serial.is_integer():  # 1954–2119 as Excel day numbers
        return EXCEL_EPOCH + dt.timedelta(days=int(serial))
    return None


@dataclass
class RowError:
    field: str
    reason: str
    raw: str = ""


@dataclass
class Record:
    """One valid ledger row, ready to register."""

    row_number: int
    external_ref: str
    received_on: dt.date
    channel: str
    case_type: str
    category: Category
    summary: str
    content: str
    name: str
    id_number: str
    phone: str
    address: str
    status: str
    unit: Organization | None
    reply_on: dt.date | None
    reply_text: str
    location: tuple[float, float] | None = None
    errors: list[RowError] = field(default_factory=list)


def ref_from_hash(received_on: dt.date, name: str, id_number: str, summary: str) -> str:
    """External reference of a row without one: stable over re-runs of the same data."""
    key = "|".join([received_on.isoformat(), name, id_number, summary])
    return "hash:" + hashlib.sha256(key.encode()).hexdigest()[:32]


class _Cells:
    """One row's mapped cells: raw values (dates keep their type) and their texts, computed once."""

    __slots__ = ("raw", "text")

    def __init__(self, values: tuple, index: dict[str, int]):
        width = len(values)
        self.raw = {k: values[i] if i < width else None for k, i in index.items()}
        self.text = {k: cell_text(v) for k, v in self.raw.items()}

    def __getitem__(self, key: str) -> str:
        return self.text.get(key, "")


UNKNOWN_CHANNEL = gettext_lazy("未知的信访形式“%(v)s”。")
UNKNOWN_CASE_TYPE = gettext_lazy("未知的事项类型“%(v)s”。")


class RowReader:
    """Reads rows of one import into Records; categories and units are looked up once."""

    def __init__(self, *, mapping: dict[str, str], headers: list[str], today: dt.date):
        self.index = {key: headers.index(header) for key, header in mapping.items()}
        self.today = today
        self.categories_by_code: dict[str, Category] = {}
        self.categories_by_name: dict[str, list[Category]] = defaultdict(list)
        self.categories_by_pair: dict[tuple[str, str], Category] = {}
        for c in Category.objects.select_related("parent"):
            self.categories_by_code[c.code] = c
            self.categories_by_name[_norm(c.name)].append(c)
            if c.parent_id:
                self.categories_by_pair[(_norm(c.parent.name), _norm(c.name))] = c
        self.units = {
            _norm(o.name): o
            for o in Organization.objects.filter(is_active=True).only("name", "kind")
        }

    def read(self, row_number: int, values: tuple) -> Record | None:
        """The row as a Record (its `errors` empty when valid); None for a blank row."""
        c = _Cells(values, self.index)
        if not any(c.text.values()):
            return None
        errors: list[RowError] = []
        received_on = self._date(c, "received_date", errors, required=True)
        channel = self._choice(c, "channel", CHANNELS, errors, UNKNOWN_CHANNEL)
        case_type = (
            self._choice(c, "case_type", CASE_TYPES, errors, UNKNOWN_CASE_TYPE)
            if c["case_type"]
            else Petition.CaseType.APPEAL
        )
        name, address = c["name"], c["address"]
        id_number, phone = self._id_number(c, errors), self._phone(c, errors)
        if len(name) > NAME_MAX:
            errors.append(RowError("name", _("姓名超过%(n)d个字。") % {"n": NAME_MAX}, name))
        if not name and (id_number or phone):
            errors.append(RowError("name", _("填写了身份证号或电话，但缺少信访人姓名。")))
        if len(address) > ADDRESS_MAX:
            errors.append(
                RowError("address", _("住址超过%(n)d个字。") % {"n": ADDRESS_MAX}, address)
            )
        summary, content = c["summary"], c["content"]
        if not summary:
            errors.append(RowError("summary", _("反映问题为空。")))
        category = self._category(c, errors)
        unit = self._unit(c, case_type, errors)
        reply_on = self._date(c, "reply_date", errors, required=False)
        status = self._status(c, reply_on, errors)
        if reply_on and received_on and reply_on < received_on:
            errors.append(RowError("reply_date", _("答复日期早于登记日期。"), c["reply_date"]))
        location = self._location(c, errors)
        ref = c["external_ref"]
        if len(ref) > REF_MAX:
            errors.append(
                RowError("external_ref", _("编号超过%(n)d个字符。") % {"n": REF_MAX}, ref)
            )
        if not ref and received_on:
            ref = ref_from_hash(received_on, name, id_number, summary)
        if len(summary) > SUMMARY_MAX:
            # The full text is kept as the content; the summary is its beginning.
            content = content or summary
            summary = summary[: SUMMARY_MAX - 1] + "…"
        return Record(
            row_number=row_number,
            external_ref=ref,
            received_on=received_on,
            channel=channel,
            case_type=case_type,
            category=category,
            summary=summary,
            content=content,
            name=name,
            id_number=id_number,
            phone=phone,
            address=address,
            status=status,
            unit=unit,
            reply_on=reply_on,
            reply_text=c["reply_text"],
            location=location,
            errors=errors,
        )

    # --- one helper per kind of check -----------------------------------------------------------

    def _date(self, c: _Cells, key: str, errors: list, *, required: bool) -> dt.date | None:
        text = c[key]
        if not text:
            if required:
                errors.append(RowError(key, _("%(f)s为空。") % {"f": FIELD_BY_KEY[key].label}))
            return None
        day = parse_date(c.raw[key])
        if day is None:
            errors.append(
                RowError(
                    key,
                    _("%(f)s无法识别（应为如 2024-05-06 的日期）。")
                    % {"f": FIELD_BY_KEY[key].label},
                    text,
                )
            )
        elif day > self.today:
            errors.append(
                RowError(key, _("%(f)s晚于今天。") % {"f": FIELD_BY_KEY[key].label}, text)
            )
            return None
        return day

    def _choice(self, c: _Cells, key: str, choices: dict, errors: list, unknown) -> str:
        raw = c[key]
        if not raw:
            errors.append(RowError(key, _("%(f)s为空。") % {"f": FIELD_BY_KEY[key].label}))
            return ""
        value = choices.get(raw) or choices.get(_norm(raw))
        if value is None:
            errors.append(RowError(key, str(unknown) % {"v": raw}, raw))
            return ""
        return value

    def _id_number(self, c: _Cells, errors: list) -> str:
        raw = c["id_number"]
        if not raw:
            return ""
        value = normalize_id_number(unicodedata.normalize("NFKC", raw))
        try:
            validate_id_number(value)
        except ValidationError as e:
            errors.append(RowError("id_number", e.messages[0], raw))
        return value

    def _phone(self, c: _Cells, errors: list) -> str:
        raw = c["phone"]
        if not raw:
            return ""
        value = normalize_phone(unicodedata.normalize("NFKC", raw))
        try:
            validate_phone(value)
        except ValidationError as e:
            errors.append(RowError("phone", e.messages[0], raw))
        return value

    def _category(self, c: _Cells, errors: list) -> Category | None:
        raw = c["category"]
        if not raw:
            errors.append(RowError("category", _("问题分类为空。")))
            return None
        found = self.categories_by_name.get(raw)
        if found and len(found) == 1:
            return found[0]
        key = _norm(raw)
        if key in self.categories_by_code:
            return self.categories_by_code[key]
        found = self.categories_by_name.get(key)
        if found is None:
            parts = [p for p in _CATEGORY_SPLIT.split(key) if p]
            if len(parts) == 2 and tuple(parts) in self.categories_by_pair:
                return self.categories_by_pair[tuple(parts)]
            found = self.categories_by_name.get(parts[-1] if parts else key, [])
        if len(found) == 1:
            return found[0]
        if found:
            errors.append(
                RowError(
                    "category",
                    _("问题分类“%(v)s”对应多个分类，请写成“上级分类/分类”。") % {"v": raw},
                    raw,
                )
            )
        else:
            errors.append(RowError("category", _("未知的问题分类“%(v)s”。") % {"v": raw}, raw))
        return None

    def _unit(self, c: _Cells, case_type: str, errors: list) -> Organization | None:
        raw = c["handling_unit"]
        if not raw:
            return None
        unit = self.units.get(raw) or self.units.get(_norm(raw))
        if unit is None:
            errors.append(RowError("handling_unit", _("未知的承办单位“%(v)s”。") % {"v": raw}, raw))
        elif (
            case_type == Petition.CaseType.ACCUSATION and unit.kind != Organization.Kind.DISCIPLINE
        ):
            errors.append(RowError("handling_unit", _("检举控告类事项只能转送纪检监察机关。"), raw))
        return unit

    def _status(self, c: _Cells, reply_on: dt.date | None, errors: list) -> str:
        raw = c["status"]
        if not raw:
            # No status column (or an empty cell): a reply date means the case was closed.
            return Petition.Status.CLOSED if reply_on else Petition.Status.REGISTERED
        status = STATUSES.get(raw) or STATUSES.get(_norm(raw))
        if status is None:
            errors.append(RowError("status", _("未知的办理状态“%(v)s”。") % {"v": raw}, raw))
            return ""
        if status in (Petition.Status.CLOSED, Petition.Status.REPLIED) and not c["reply_date"]:
            errors.append(
                RowError("reply_date", _("办理状态为“%(v)s”，但缺少答复日期。") % {"v": raw})
            )
        return status

    def _location(self, c: _Cells, errors: list) -> tuple[float, float] | None:
        raw_lng, raw_lat = c["longitude"], c["latitude"]
        if not raw_lng and not raw_lat:
            return None
        raw = f"{raw_lng}, {raw_lat}"
        if not (raw_lng and raw_lat):
            errors.append(RowError("longitude", _("经度和纬度应同时填写。"), raw))
            return None
        try:
            lng = float(unicodedata.normalize("NFKC", raw_lng))
            lat = float(unicodedata.normalize("NFKC", raw_lat))
        except ValueError:
            errors.append(RowError("longitude", _("经纬度不是数字。"), raw))
            return None
        if out_of_china(lng, lat):
            errors.append(RowError("longitude", _("坐标不在中国境内，请检查经纬度是否填反。"), raw))
            return None
        return lng, lat
