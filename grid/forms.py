"""Forms of the grid app: admin forms for areas, forced activation and boundary upload."""

import zipfile
from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from grid.models import Generation

LEVEL_CHOICES = [
    ("district", _("区")),
    ("street", _("街道")),
    ("community", _("社区")),
    ("cell", _("网格")),
]
# The name of each level's foreign key to its parent.
PARENT_FIELD = {"street": "district", "community": "street", "cell": "community"}

UPLOAD_SUFFIXES = (".geojson", ".json", ".zip", ".gpkg", ".kml")
# Shapefile parts a zip may carry; anything else in the archive is ignored, never extracted.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
# A boundary set for one district is a few MB; this only stops zip bombs.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024


def area_level(model) -> str:
    """The importer's level name for an area model."""
    return {
        "district": "district",
        "street": "street",
        "community": "community",
        "gridcell": "cell",
    }[model._meta.model_name]


class AreaAdminForm(forms.ModelForm):
    """An area edited in the admin: its parent must belong to the same generation.

    The database enforces this too (composite foreign key / trigger), but there it surfaces as an
    IntegrityError; here it is a readable form error.
    """

    def clean(self):
        cleaned = super().clean()
        parent_name = PARENT_FIELD.get(area_level(self._meta.model))
        generation = cleaned.get("generation") or getattr(self.instance, "generation", None)
        parent = cleaned.get(parent_name) if parent_name else None
        if parent is not None and generation is not None and parent.generation_id != generation.pk:
            self.add_error(parent_name, _("上级区域必须属于同一边界版本。"))
        code = cleaned.get("code") or self.instance.code
        if parent is not None and code and not code.startswith(parent.code):
            self.add_error(
                None, _("代码必须以上级代码 %(parent)s 开头。") % {"parent": parent.code}
            )
        return cleaned


class ForceActivateForm(forms.Form):
    """The reason a generation is activated despite validation errors (kept in the event log)."""

    reason = forms.CharField(
        label=_("强制生效理由"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        min_length=5,
        help_text=_("说明为何在校验报告有错误时仍要生效，此理由将被记录。"),
    )


class BoundaryUploadForm(forms.Form):
    """Upload of a boundary file for grid.services.importer.boundary_import."""

    file = forms.FileField(
        label=_("边界文件"),
        help_text=_("GeoJSON、Shapefile（含 .prj，打包为 zip）、GeoPackage 或 KML。"),
    )
    level = forms.ChoiceField(label=_("层级"), choices=LEVEL_CHOICES)
    code_field = forms.CharField(label=_("代码字段"), max_length=100, initial="code")
    name_field = forms.CharField(label=_("名称字段"), max_length=100, initial="name")
    parent_field = forms.CharField(
        label=_("上级代码字段"),
        max_length=100,
        required=False,
        help_text=_("留空则按代码前缀或空间位置查找上级区域。"),
    )
    households_field = forms.CharField(
        label=_("户数字段"), max_length=100, required=False, help_text=_("仅网格层级。")
    )
    residents_field = forms.CharField(
        label=_("人口字段"), max_length=100, required=False, help_text=_("仅网格层级。")
    )
    srid = forms.IntegerField(
        label=_("坐标系 EPSG 代码"),
        required=False,
        min_value=1,
        help_text=_("留空则使用文件自带的坐标系（如 4490、4549）。"),
    )
    fix_invalid = forms.BooleanField(label=_("修复无效几何"), required=False)
    generation = forms.ModelChoiceField(
        label=_("导入到草稿版本"),
        queryset=Generation.objects.filter(status=Generation.Status.DRAFT),
        required=False,
    )
    generation_name = forms.CharField(
        label=_("或新建版本名称"),
        max_length=200,
        required=False,
        help_text=_("都不填时，写入数据库会按文件名新建草稿版本。"),
    )
    commit = forms.BooleanField(
        label=_("写入数据库"),
        required=False,
        help_text=_("不勾选时只做试导入并生成校验报告。"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                _("不支持的文件类型，请上传 %(types)s 文件。")
                % {"types": "、".join(UPLOAD_SUFFIXES)}
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        generation, name = cleaned.get("generation"), cleaned.get("generation_name")
        if generation and name:
            self.add_error(
                "generation_name", _("请选择已有草稿版本或填写新版本名称，不能同时填写。")
            )
        if cleaned.get("level") != "cell":
            for name in ("households_field", "residents_field"):
                if cleaned.get(name):
                    self.add_error(name, _("户数和人口只适用于网格层级。"))
        return cleaned


def upload_save(upload, directory: Path) -> Path:
    """Write an uploaded boundary file into directory; for a zip, extract it and return its data
    file (the .shp, or a single GeoJSON/GeoPackage/KML inside)."""
    target = directory / Path(upload.name).name
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    if target.suffix.lower() != ".zip":
        return target
    return _zip_extract(target, directory / "unzipped")


def _zip_extract(archive: Path, directory: Path) -> Path:
    try:
        bundle = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise forms.ValidationError(_("zip 文件已损坏。")) from exc
    with bundle:
        members = [
            info
            for info in bundle.infolist()
            if not info.is_dir()
            and not Path(info.filename).name.startswith(".")
            and Path(info.filename).suffix.lower() in SHAPEFILE_PARTS + UPLOAD_SUFFIXES
            and "__MACOSX" not in info.filename
        ]
        if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
            raise forms.ValidationError(_("zip 文件解压后过大。"))
        directory.mkdir()
        for info in members:
            # Flatten into one directory: a shapefile's parts must sit side by side, and no
            # member path can then escape the temporary directory.
            member = Path(info.filename)
            (directory / (member.stem + member.suffix.lower())).write_bytes(bundle.read(info))
    data = sorted(directory.glob("*.shp")) + sorted(
        p for p in directory.iterdir() if p.suffix.lower() in (".geojson", ".json", ".gpkg", ".kml")
    )
    if len(data) != 1:
        raise forms.ValidationError(
            _(
                "zip 文件中应恰好有一个 .shp（或一个 GeoJSON/GeoPackage/KML）文件，实际找到 %(n)d 个。"
            )
            % {"n": len(data)}
        )
    return data[0]
