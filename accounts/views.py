"""The audit page (SPEC §7): logins, sensitive reads and every case, boundary and admin change in
one filtered, paginated list, for the bureau and administrators; anyone else gets 404."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.audit import audit_list, audit_rows, may_audit
from accounts.forms import AuditFilterForm

PAGE_SIZE = 50


@login_required
@require_GET
def audit_index(request):
    if not may_audit(request.user):
        raise Http404
    form = AuditFilterForm(request.GET or None)
    filters = {}
    if form.is_bound:
        form.is_valid()  # invalid fields are left out of cleaned_data; the rest still filter
        filters = form.cleaned_data
    page = Paginator(audit_list(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {
            "form": form,
            "page": page,
            "rows": audit_rows(page.object_list),
            "query": query.urlencode(),
        },
    )


def lockout(request, original_response=None, credentials=None):
    """What a locked-out login attempt gets (django-axes' AXES_LOCKOUT_CALLABLE): 429 + a page."""
    cooloff = settings.AXES_COOLOFF_TIME
    return render(
        request,
        "accounts/lockout.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": int(cooloff.total_seconds() // 60) if cooloff else None,
        },
        status=429,
    )
