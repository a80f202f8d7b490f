"""Import a historical petition ledger (信访台账) from the command line.

    manage.py ledger_import FILE --organization ID [--mapping JSON] [--crs wgs84] [--user NAME]
                            [--commit] [--max-errors 100]

A dry run unless --commit. Without --mapping the columns are matched from the usual Chinese
headers (the suggestion is printed); --mapping takes a JSON object of our field → column header,
or @path to a file holding one. The run happens in this process with a progress line; the error
report (row, field, reason) follows. Same services as the ledger pages.
"""

from __future__ import annotations

import json
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ledger.models import LedgerImport
from ledger.rows import FIELD_BY_KEY, FIELDS
from ledger.selectors import ledger_error_list
from ledger.services import ledger_import_file, ledger_run_now
from petitions.models import Organization

BAR_WIDTH = 30


def progress_line(imp: LedgerImport) -> str:
    """'[#####.....]  45%  45000/100000 行 新建 … 跳过 … 错误 …' for one progress report."""
    filled = BAR_WIDTH * imp.percent // 100
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    counts = _("%(done)d/%(total)d 行  新建 %(created)d  跳过 %(skipped)d  错误 %(errors)d") % {
        "done": imp.processed_rows,
        "total": imp.total_rows,
        "created": imp.created_count,
        "skipped": imp.skipped_count,
        "errors": imp.error_count,
    }
    return f"[{bar}] {imp.percent:3d}%  {counts}"


class Command(BaseCommand):
    help = gettext_lazy("导入历史信访台账（XLSX 或 CSV）；默认试导入，加 --commit 正式导入。")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--organization", type=int, required=True, help=gettext_lazy("导入单位的 ID")
        )
        parser.add_argument(
            "--mapping", help=gettext_lazy("列对应 JSON（字段 → 表头），或 @文件路径")
        )
        parser.add_argument(
            "--crs", default="wgs84", choices=[c for c, _l in LedgerImport.Crs.choices]
        )
        parser.add_argument("--user", help=gettext_lazy("记为登记人的用户名"))
        parser.add_argument(
            "--commit", action="store_true", help=gettext_lazy("正式导入（默认只试导入）")
        )
        parser.add_argument(
            "--max-errors", type=int, default=100, help=gettext_lazy("最多列出的错误条数")
        )

    def handle(self, *args, **opts):
        organization = Organization.objects.filter(pk=opts["organization"]).first()
        if organization is None:
            raise CommandError(_("没有 ID 为 %(id)s 的单位。") % {"id": opts["organization"]})
        actor = None
        if opts["user"]:
            actor = get_user_model().objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(_("没有用户 %(name)s。") % {"name": opts["user"]})
        try:
            imp = ledger_import_file(
                path=opts["file"],
                organization=organization,
                actor=actor,
                mapping=self._mapping(opts["mapping"]),
                crs=opts["crs"],
            )
        except FileNotFoundError as e:
            raise CommandError(_("找不到文件：%(path)s") % {"path": opts["file"]}) from e
        except ValidationError as e:
            raise CommandError(self._errors(e)) from e
        self._print_mapping(imp)
        self.stdout.write(_("正式导入……") if opts["commit"] else _("试导入（不写入）……"))
        imp = ledger_run_now(ledger_import=imp, commit=opts["commit"], on_progress=self._progress)
        self._progress(imp)
        self.stdout.write("")
        self._report(imp, opts["max_errors"])
        if imp.status == LedgerImport.Status.FAILED:
            raise CommandError(_("导入失败：%(reason)s") % {"reason": imp.failure})

    def _mapping(self, value: str | None) -> dict | None:
        if not value:
            return None
        try:
            if value.startswith("@"):
                with open(value[1:], encoding="utf-8") as f:
                    return json.load(f)
            return json.loads(value)
        except (OSError, ValueError) as e:
            raise CommandError(_("--mapping 不是有效的 JSON：%(error)s") % {"error": e}) from e

    def _errors(self, error: ValidationError) -> str:
        if hasattr(error, "error_dict"):
            return "\n".join(
                f"{FIELD_BY_KEY[k].label if k in FIELD_BY_KEY else k}：{'；'.join(v)}"
                for k, v in error.message_dict.items()
            )
        return "；".join(error.messages)

    def _print_mapping(self, imp: LedgerImport) -> None:
        self.stdout.write(
            _("导入 #%(id)d：表头在第 %(row)d 行，约 %(total)d 行数据。")
            % {"id": imp.pk, "row": imp.header_row, "total": imp.total_rows}
        )
        for f in FIELDS:
            if f.key in imp.mapping:
                self.stdout.write(f"  {f.label} ← {imp.mapping[f.key]}")

    def _progress(self, imp: LedgerImport) -> None:
        self.stdout.write("\r" + progress_line(imp), ending="")
        self.stdout.flush()

    def _report(self, imp: LedgerImport, limit: int) -> None:
        created = _("可导入") if imp.phase == LedgerImport.Phase.DRY_RUN else _("新建")
        self.stdout.write(
            _(
                "%(status)s：%(created)s %(n)d 行，已导入过（跳过） %(skipped)d 行，有错误 %(errors)d 行。"
            )
            % {
                "status": imp.get_status_display(),
                "created": created,
                "n": imp.created_count,
                "skipped": imp.skipped_count,
                "errors": imp.error_count,
            }
        )
        errors = ledger_error_list(imp)
        for e in errors[:limit]:
            label = FIELD_BY_KEY[e.field].label if e.field in FIELD_BY_KEY else e.field
            self.stdout.write(
                "  "
                + _("第 %(row)d 行  %(field)s：%(reason)s")
                % {"row": e.row_number, "field": label, "reason": e.reason}
            )
        more = errors.count() - limit
        if more > 0:
            self.stdout.write("  " + _("……另有 %(n)d 条错误未列出。") % {"n": more})
        sys.stdout.flush()
