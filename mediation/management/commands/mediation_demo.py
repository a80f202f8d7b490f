"""mediation_demo: seed screening rounds, disputes and mediation cases (after grid_demo and
petitions_demo)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from grid.models import Generation
from mediation.models import Agreement, Dispute, FollowUpVisit, MediationCase
from mediation.services.demo import (
    mediation_demo_build,
    mediation_demo_clear,
    mediation_demo_exists,
)


class Command(BaseCommand):
    help = _(
        "生成演示矛盾纠纷排查和调解数据：各街道每月的排查轮次、排查发现的矛盾纠纷（经真实业务流程"
        "办理）、三类调解案件及其协议、回访和司法确认；已有演示数据时不重复生成，除非加 --rebuild。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=24, help=_("覆盖的月数（含本月）"))
        parser.add_argument("--seed", type=int, default=2026, help=_("随机种子（结果可复现）"))
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help=_("以该日为“今天”（YYYY-MM-DD）"),
        )
        parser.add_argument("--rebuild", action="store_true", help=_("删除已有演示数据后重新生成"))

    def handle(self, *args, **opts):
        if opts["months"] < 1:
            raise CommandError(_("月数至少为1。"))
        if mediation_demo_exists():
            if not opts["rebuild"]:
                self.stdout.write(
                    self.style.WARNING(_("已有演示调解数据，不重复生成（加 --rebuild 重建）。"))
                )
                return
            if not Generation.objects.filter(status="active", is_demo=True).exists():
                raise CommandError(_("当前生效的不是演示网格版本，不能重建演示数据。"))
            deleted = mediation_demo_clear()
            self.stdout.write(_("已删除原有演示数据（%(n)d 条记录）。") % {"n": deleted})
        try:
            summary = mediation_demo_build(
                seed=opts["seed"], months=opts["months"], today=opts["today"]
            )
        except RuntimeError as e:
            raise CommandError(str(e)) from e
        self.summary_print(summary)

    def summary_print(self, s: dict) -> None:
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                _(
                    "已生成演示排查轮次 %(rounds)d 个（进行中 %(open)d 个）、矛盾纠纷 %(disputes)d 件、"
                    "调解案件 %(cases)d 件，用时 %(s).1f 秒。"
                )
                % {
                    "rounds": s["rounds"],
                    "open": s["rounds_open"],
                    "disputes": s["disputes"],
                    "cases": s["cases"],
                    "s": s["seconds"],
                }
            )
        )
        self.counts(_("矛盾纠纷按状态："), Dispute.Status.choices, s["disputes_by_status"])
        self.counts(_("矛盾纠纷按风险等级："), Dispute.Risk.choices, s["disputes_by_risk"])
        self.counts(_("矛盾纠纷按类别："), Dispute.Category.choices, s["disputes_by_category"])
        self.counts(_("调解案件按类型："), MediationCase.Type.choices, s["cases_by_type"])
        self.counts(_("调解案件按状态："), MediationCase.Status.choices, s["cases_by_status"])
        self.counts(_("调解协议："), Agreement.Form.choices, s["agreements_by_form"])
        self.counts(
            _("回访履行情况："),
            FollowUpVisit.Performance.choices,
            s["follow_ups_by_performance"],
        )
        write(
            _(
                "已生效协议 %(effective)d 份，回访 %(visits)d 次，司法确认申请 %(confirmations)d 件"
                "（最晚在协议生效后第 %(days)s 日申请），由信访事项转入的纠纷 %(petitions)d 件。"
            )
            % {
                "effective": s["agreements_effective"],
                "visits": s["follow_ups"],
                "confirmations": s["confirmations"],
                "days": "—" if s["confirmations_max_days"] is None else s["confirmations_max_days"],
                "petitions": s["disputes_from_petitions"],
            }
        )

    def counts(self, title: str, choices, counts: dict) -> None:
        parts = [f"{label} {counts.get(value, 0)}" for value, label in choices]
        self.stdout.write(f"{title}{'，'.join(parts)}")
