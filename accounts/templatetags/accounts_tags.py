"""Template helpers of the accounts app: what the header's navigation shows a user."""

from django import template

from accounts.audit import may_audit as _may_audit

register = template.Library()


@register.filter
def may_audit(user) -> bool:
    """True for the bureau and administrators: the header links the audit page (审计)."""
    return _may_audit(user)
