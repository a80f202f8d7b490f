"""Forms of the accounts app: the audit page's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.audit import audit_action_choices, audit_kind_choices


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("用户名"), required=False, max_length=150)
    kind = forms.ChoiceField(label=_("对象类型"), required=False)
    object = forms.CharField(
        label=_("对象"),
        required=False,
        max_length=100,
        help_text=_("受理编号、案件编号、区划代码、名称或用户名的一部分"),
    )
    action = forms.ChoiceField(label=_("操作"), required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False)
    date_to = forms.DateField(label=_("截止日期"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("全部"))] + audit_kind_choices()
        self.fields["action"].choices = [("", _("全部"))] + audit_action_choices()
        for name in ("date_from", "date_to"):
            self.fields[name].widget.input_type = "date"

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于起始日期。"))
        return data
