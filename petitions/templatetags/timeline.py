"""{{ timeline|timeline_html }}: the case page's timeline items as its <li>s (petitions.timeline_html)."""

from django import template

from petitions.timeline_html import timeline_html as _timeline_html

register = template.Library()


@register.filter
def timeline_html(items):
    return _timeline_html(items)
