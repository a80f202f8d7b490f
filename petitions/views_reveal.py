"""Reveal a petitioner's full identity number and phone (SPEC §7): only for roles with the reveal
right, only within the user's scope, only with a reason — and every reveal is an AccessLog row.

GET shows the masked values and the reason form; a valid POST shows the full values once, in a
response that must not be cached. Out of scope → 404; in scope without the right → 403.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts import scoping
from accounts.services import REASON_MAX, personal_data_reveal
from petitions.masking import petitioner_display
from petitions.models import Petitioner
from petitions.selectors import petition_get


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("查看事由"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text=_("例如：电话回访核实身份、办理答复需送达。事由与查看记录一并留存备查。"),
        error_messages={"required": _("请填写查看事由。")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def petitioner_reveal(request, pk: int, pid: int):
    """The reason form, then the full values once (logged)."""
    petition = petition_get(request.user, pk)
    try:
        petitioner = petition.petitioners.get(pk=pid)
    except Petitioner.DoesNotExist as e:
        raise Http404 from e
    if not scoping.may_reveal(request.user):
        raise PermissionDenied
    form = RevealForm(request.POST if request.method == "POST" else None)
    revealed = None
    if request.method == "POST" and form.is_valid():
        try:
            revealed = personal_data_reveal(
                user=request.user,
                petitioner=petitioner,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as e:
            for message in e.message_dict.get("reason", e.messages):
                form.add_error("reason", message)
    response = render(
        request,
        "petitions/reveal.html",
        {
            "petition": petition,
            "petitioner": petitioner_display(request.user, petitioner),
            "form": form,
            "revealed": revealed,
        },
        status=200,
    )
    # The full values must stay in no browser or proxy cache.
    add_never_cache_headers(response)
    return response
