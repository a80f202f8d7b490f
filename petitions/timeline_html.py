"""The case page's timeline written in Python instead of the template engine (issue #9).

A case's events cost the template engine ~0.3 ms each (two date filters, a default, an `if`, the
payload loop, every value resolved and escaped node by node): ~1.4 ms of a case page's ~5 ms of
rendering for an ordinary closed case. This builds the same markup with format strings and
`escape()` on every value (tests/petitions/test_timeline_html.py renders the former template
loop over the same events, both languages, with markup in the payload, and compares).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

ITEM = (
    '\n    <li class="timeline__item timeline__item--{action}">\n'
    '      <div class="timeline__head">\n'
    "        <strong>{label}</strong>\n"
    '        <time datetime="{iso}">{at}</time>\n'
    '        <span class="muted">{actor}</span>\n'
    "        {transition}\n"
    "      </div>\n"
    "      {payload}\n"
    "    </li>\n  "
)
TRANSITION = '<span class="transition">{}</span>'
PAYLOAD = '\n      <dl class="timeline__payload">\n        {}\n      </dl>\n      '
PAIR = '<dt>{}</dt><dd class="pre">{}</dd>'


def timeline_html(items: list[dict]) -> SafeString:
    """The <li> of each item of `petitions.views.timeline`, as the case page's <ol> holds them."""
    system = conditional_escape(_("系统"))
    out = []
    for t in items:
        event = t["event"]
        at = timezone.localtime(event.at)
        actor = event.actor.get_username() if event.actor is not None else ""
        transition = ""
        if t["from"] != t["to"]:
            source = conditional_escape(t["from"] or "—")
            transition = TRANSITION.format(f"{source} → {conditional_escape(t['to'])}")
        payload = ""
        if t["payload"]:
            pairs = "".join(
                PAIR.format(conditional_escape(label), conditional_escape(value))
                for label, value in t["payload"]
            )
            payload = PAYLOAD.format(pairs)
        out.append(
            ITEM.format(
                action=conditional_escape(event.action),
                label=conditional_escape(t["label"]),
                iso=at.isoformat(),
                at=at.strftime("%Y-%m-%d %H:%M"),
                actor=conditional_escape(actor) if actor else system,
                transition=transition,
                payload=payload,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 — every value above is escaped
