"""GeoReport v2 output in JSON or XML (UTF-8, XML declaration, list roots as in the spec)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from django.http import HttpResponse

# Root element and item element for each response kind (JSON is always a list, except discovery).
ROOTS = {
    "services": ("services", "service"),
    "service_definition": (None, "service_definition"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
    "discovery": (None, "discovery"),
}
# Nested lists in XML: attributes → attribute, values → value, endpoints → endpoint, formats → format
CHILD = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _xml_value(parent: ET.Element, key: str, value) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, list):
        for item in value:
            _xml_value(el, CHILD.get(key, "item"), item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _xml_value(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = str(value)


def render(kind: str, payload, fmt: str, status: int = 200) -> HttpResponse:
    if fmt == "json":
        return HttpResponse(
            json.dumps(payload, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
            status=status,
        )
    root_name, item_name = ROOTS[kind]
    if root_name is None:
        root = ET.Element(item_name)
        for k, v in payload.items():
            _xml_value(root, k, v)
    else:
        root = ET.Element(root_name)
        for item in payload:
            child = ET.SubElement(root, item_name)
            for k, v in item.items():
                _xml_value(child, k, v)
    body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return HttpResponse(body, content_type="text/xml; charset=utf-8", status=status)
