"""Reads of ledger imports, filtered by the user's organisations (out of scope → 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.scoping import is_admin
from ledger.models import LedgerImport, LedgerRowError
from petitions.models import Organization
from petitions.selectors_visits import user_organization_list


def ledger_organization_list(user) -> QuerySet[Organization]:
    """Offices the user may import a ledger for: the organisations they work for."""
    return user_organization_list(user)


def ledger_import_list(user) -> QuerySet[LedgerImport]:
    """Imports of the user's organisations (admins: all), newest first."""
    qs = LedgerImport.objects.select_related("organization", "created_by")
    if is_admin(user):
        return qs
    return qs.filter(organization__in=ledger_organization_list(user))


def ledger_import_get(user, pk: int) -> LedgerImport:
    found = ledger_import_list(user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def ledger_error_list(ledger_import: LedgerImport) -> QuerySet[LedgerRowError]:
    """The error report of the import's latest run (dry run or commit), by row."""
    return LedgerRowError.objects.filter(
        ledger_import=ledger_import, phase=ledger_import.phase
    ).order_by("row_number", "pk")
