"""grid_generate: split a community of a draft generation into grid cells."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from grid.models import Community, Generation
from grid.services.generator import GeneratorRefused, grid_generate


class Command(BaseCommand):
    help = _("按目标面积或目标户数把一个社区划分为网格，写入草稿版本（替换该社区原有网格）。")

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help=_("社区代码（12 位）"))
        parser.add_argument(
            "--generation", type=int, help=_("草稿版本 ID（默认：含该社区的最新草稿版本）")
        )
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--target-area", type=float, help=_("目标网格面积（平方米）"))
        target.add_argument("--target-households", type=int, help=_("每个网格的目标户数"))
        parser.add_argument("--households", type=int, help=_("社区总户数（按面积分配到网格）"))
        parser.add_argument(
            "--sliver-ratio", type=float, default=0.25, help=_("小于目标面积该比例的碎片并入邻格")
        )
        parser.add_argument("--seed", type=int, default=0, help=_("随机种子（结果可复现）"))

    def handle(self, *args, **opts):
        found = Community.objects.filter(code=opts["community"]).select_related("generation")
        if opts["generation"] is not None:
            found = found.filter(generation_id=opts["generation"])
        else:
            found = found.filter(generation__status=Generation.Status.DRAFT)
        community = found.order_by("-generation__created_at", "-generation_id").first()
        if community is None:
            raise CommandError(_("找不到草稿版本中的社区 %(code)s。") % {"code": opts["community"]})
        try:
            cells = grid_generate(
                community=community,
                target_area_m2=opts["target_area"],
                target_households=opts["target_households"],
                households=opts["households"],
                sliver_ratio=opts["sliver_ratio"],
                seed=opts["seed"],
            )
        except GeneratorRefused as exc:
            raise CommandError(str(exc)) from exc
        summary = _("社区 %(code)s %(name)s：生成 %(n)d 个网格（%(first)s–%(last)s），版本 %(g)s。")
        self.stdout.write(
            self.style.SUCCESS(
                summary
                % {
                    "code": community.code,
                    "name": community.name,
                    "n": len(cells),
                    "first": cells[0].code,
                    "last": cells[-1].code,
                    "g": community.generation_id,
                }
            )
        )
