"""The bell's count (JSON), the notification list and marking notices read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from notifications.selectors import notification_get, notification_list, notification_unread_count
from notifications.services import notification_mark_read

PAGE_SIZE = 30


@never_cache
@require_GET
def notification_count(request):
    """{"unread": n, "label": "…"} for the bell (polled by notifications/bell.js)."""
    if not request.user.is_authenticated:
        return JsonResponse({"unread": 0, "label": ""}, status=401)
    n = notification_unread_count(request.user)
    label = ngettext("%(n)s 条未读通知", "%(n)s 条未读通知", n) % {"n": n}
    return JsonResponse({"unread": n, "label": label})


@login_required
@require_GET
def notification_index(request):
    """通知: the user's notices, newest first; ?unread=1 shows only the unread ones."""
    qs = notification_list(request.user).order_by("-created_at", "-pk")
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": notification_unread_count(request.user),
            "query": "unread=1" if unread_only else "",
        },
    )


def _next_or_list(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read(request, pk: int):
    """Mark one notice read, then go to `next` (e.g. the case it is about) or back to the list."""
    notification = notification_get(request.user, pk)
    notification_mark_read(user=request.user, notification_ids=[notification.pk])
    return _next_or_list(request)


@login_required
@require_POST
def notification_read_all(request):
    notification_mark_read(user=request.user)
    return _next_or_list(request)
