"""grid_import: load one level of a boundary file into a draft generation (dry run by default)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from grid.models import Generation
from grid.services.importer import BoundaryImportError, boundary_import
from grid.services.validation import CODE_LENGTHS, report_format


class Command(BaseCommand):
    help = _(
        "导入边界文件（GeoJSON、Shapefile、GeoPackage、KML）的一个层级；不加 --commit 时只试运行。"
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help=_("边界文件路径"))
        parser.add_argument("--level", required=True, choices=list(CODE_LENGTHS))
        parser.add_argument("--code-field", default="code", help=_("代码字段"))
        parser.add_argument("--name-field", default="name", help=_("名称字段"))
        parser.add_argument("--parent-field", help=_("上级代码字段（默认取代码前缀或按位置）"))
        parser.add_argument("--households-field", help=_("户数字段（网格）"))
        parser.add_argument("--residents-field", help=_("人口字段（网格）"))
        parser.add_argument("--srid", type=int, help=_("源坐标系 EPSG 代码，覆盖文件中的坐标系"))
        parser.add_argument("--layer", help=_("图层名称或序号（默认第一个）"))
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--generation", type=int, help=_("写入的草稿版本 ID"))
        target.add_argument("--generation-name", default="", help=_("新建草稿版本的名称"))
        parser.add_argument("--fix-invalid", action="store_true", help=_("自动修复无效几何"))
        parser.add_argument("--commit", action="store_true", help=_("写入数据库（默认试运行）"))

    def handle(self, *args, **opts):
        generation = None
        if opts["generation"] is not None:
            generation = Generation.objects.filter(pk=opts["generation"]).first()
            if generation is None:
                raise CommandError(_("版本 %(id)s 不存在。") % {"id": opts["generation"]})
        try:
            result = boundary_import(
                source=opts["path"],
                level=opts["level"],
                generation=generation,
                generation_name=opts["generation_name"],
                code_field=opts["code_field"],
                name_field=opts["name_field"],
                parent_field=opts["parent_field"],
                households_field=opts["households_field"],
                residents_field=opts["residents_field"],
                srid=opts["srid"],
                layer=opts["layer"],
                fix_invalid=opts["fix_invalid"],
                commit=opts["commit"],
            )
        except BoundaryImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report_format(result.report))
        if opts["commit"]:
            summary = _("读取 %(n)d 个要素，写入 %(c)d 个，版本：%(g)s（ID %(id)s）。") % {
                "n": result.features,
                "c": result.created,
                "g": result.generation.name,
                "id": result.generation.pk,
            }
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            summary = _("读取 %(n)d 个要素；试运行，未写入（加 --commit 写入）。") % {
                "n": result.features
            }
            self.stdout.write(self.style.WARNING(summary))
