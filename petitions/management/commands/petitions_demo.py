"""petitions_demo: seed the demo cases, visits and leader reception days (after grid_demo)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils.translation import gettext as _

from petitions.deadlines import local_date
from petitions.models import Petition, Status
from petitions.services.demo import (
    petitions_demo_build,
    petitions_demo_clear,
    petitions_demo_exists,
)


class Command(BaseCommand):
    help = _(
        "生成演示信访数据：近若干个月的信访事项（经真实业务流程办理）、来访登记和领导接访日；"
        "已有演示数据时不重复生成，除非加 --rebuild。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=24, help=_("覆盖的月数（含本月）"))
        parser.add_argument("--per-month", type=int, default=60, help=_("每月信访事项件数"))
        parser.add_argument("--seed", type=int, default=2026, help=_("随机种子（结果可复现）"))
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help=_("以该日为“今天”（YYYY-MM-DD）"),
        )
        parser.add_argument("--rebuild", action="store_true", help=_("删除已有演示数据后重新生成"))

    def handle(self, *args, **opts):
        if opts["months"] < 1 or opts["per_month"] < 1:
            raise CommandError(_("月数和每月件数至少为1。"))
        if petitions_demo_exists():
            if not opts["rebuild"]:
                self.stdout.write(
                    self.style.WARNING(_("已有演示信访数据，不重复生成（加 --rebuild 重建）。"))
                )
                return
            deleted = petitions_demo_clear()
            self.stdout.write(_("已删除原有演示数据（%(n)d 条记录）。") % {"n": deleted})
        try:
            # With DEBUG on, Django logs every SQL statement: ~15 % of this build's time.
            with override_settings(DEBUG=False):
                summary = petitions_demo_build(
                    seed=opts["seed"],
                    months=opts["months"],
                    per_month=opts["per_month"],
                    today=opts["today"],
                )
        except RuntimeError as e:
            raise CommandError(str(e)) from e
        self.summary_print(summary)

    def summary_print(self, s: dict) -> None:
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                _("已生成演示信访事项 %(n)d 件（%(first)s 至 %(last)s），用时 %(s).1f 秒。")
                % {
                    "n": s["petitions"],
                    "first": local_date(s["first_received"]) if s["first_received"] else "—",
                    "last": local_date(s["last_received"]) if s["last_received"] else "—",
                    "s": s["seconds"],
                }
            )
        )
        write(_("按状态："))
        for value, label in Status.choices:
            write(f"  {label}：{s['by_status'].get(value, 0)}")
        write(_("按信访形式："))
        for value, label in Petition.Channel.choices:
            write(f"  {label}：{s['by_channel'].get(value, 0)}")
        write(
            _(
                "网格外位置 %(outside)d 件，重复信访 %(repeats)d 次，文书 %(docs)d 份，"
                "来访登记 %(visits)d 批，领导接访日 %(days)d 个。"
            )
            % {
                "outside": s["outside_grid"],
                "repeats": s["repeats"],
                "docs": s["documents"],
                "visits": s["visits"],
                "days": s["reception_days"],
            }
        )
        series = s["series"]
        if series["first"]:
            write(
                _(
                    "领导接访（%(first)s 至 %(last)s）：接待群众 %(batches)d 批 %(persons)d 人次，"
                    "当场答复 %(answered)d 件，结案息访 %(resolved)d 件。"
                )
                % {
                    "first": series["first"],
                    "last": series["last"],
                    "batches": series["batches"],
                    "persons": series["persons"],
                    "answered": series["answered_on_spot"],
                    "resolved": series["resolved"],
                }
            )
