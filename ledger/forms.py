"""Forms of the ledger pages: they parse input only; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ledger.models import LedgerImport
from ledger.rows import FIELDS


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("台账文件"),
        help_text=_("Excel（.xlsx）或 CSV（UTF-8 或 GB18030/GBK 编码），第一张工作表。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )
    organization = forms.ModelChoiceField(label=_("导入单位"), queryset=None, empty_label=None)
    crs = forms.ChoiceField(
        label=_("经纬度坐标系"),
        choices=LedgerImport.Crs.choices,
        initial=LedgerImport.Crs.WGS84,
        help_text=_("台账中有经纬度时，它们所用的坐标系。"),
    )

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class MappingForm(forms.Form):
    """One choice per field of ours: which column of the file it is read from."""

    crs = forms.ChoiceField(label=_("经纬度坐标系"), choices=LedgerImport.Crs.choices)

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        columns = [("", _("（不导入）")), *[(h, h) for h in dict.fromkeys(headers)]]
        for f in FIELDS:
            self.fields[f.key] = forms.ChoiceField(
                label=f.label, choices=columns, required=f.required
            )
        self.order_fields([f.key for f in FIELDS] + ["crs"])

    def mapping(self) -> dict[str, str]:
        return {f.key: self.cleaned_data[f.key] for f in FIELDS if self.cleaned_data.get(f.key)}
