"""grid_demo: build the demo district (generated geometry) and the demo logins, then list them."""

import time
import unicodedata

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from grid.models import Generation, GridCell
from grid.services.demo import demo_users_create, grid_demo_build


class Command(BaseCommand):
    help = _(
        "生成沙河口区演示数据（真实的街道、社区代码和名称，程序生成的边界与网格）并创建演示账号；"
        "已有生效版本时不重建，除非加 --rebuild。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help=_("即使已有生效版本也重新生成并启用演示版本")
        )
        parser.add_argument("--seed", type=int, default=2026, help=_("随机种子（结果可复现）"))

    def handle(self, *args, **opts):
        active = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
        if active is not None and not opts["rebuild"]:
            message = (
                _("演示版本已生效：%(name)s（ID %(id)s），不重建（加 --rebuild 重建）。")
                if active.is_demo
                else _(
                    "已有生效的正式版本：%(name)s（ID %(id)s），未生成演示数据（加 --rebuild 可替换）。"
                )
            )
            self.stdout.write(self.style.WARNING(message % {"name": active.name, "id": active.pk}))
        else:
            started = time.monotonic()
            generation = grid_demo_build(seed=opts["seed"])
            cells = GridCell.objects.filter(generation=generation).count()
            summary = _(
                "已生成并启用演示版本 %(name)s（ID %(id)s）：%(n)d 个网格，用时 %(s).1f 秒。"
            )
            self.stdout.write(
                self.style.SUCCESS(
                    summary
                    % {
                        "name": generation.name,
                        "id": generation.pk,
                        "n": cells,
                        "s": time.monotonic() - started,
                    }
                )
            )
        self.logins_print(demo_users_create())

    def logins_print(self, logins: list[tuple[str, str, str]]) -> None:
        rows = [(_("用户名"), _("密码"), _("角色")), *logins]
        widths = [max(_display_width(row[i]) for row in rows) + 2 for i in (0, 1)]
        self.stdout.write(_("演示账号（仅供演示）："))
        for username, password, role in rows:
            self.stdout.write(f"  {_pad(username, widths[0])}{_pad(password, widths[1])}{role}")


def _display_width(text: str) -> int:
    # Chinese characters take two terminal columns; pad by columns so the table lines up.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))
