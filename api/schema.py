"""OpenAPI: the token scheme, the one error shape on every /api/v1/ operation, and the
Idempotency-Key header on every POST (all of them are @idempotent; tests/api checks that)."""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension

API_PREFIX = "/api/v1/"
ERROR_SCHEMA = "Error"

# Status → description. Every operation may answer these; POSTs also the ones below.
COMMON_ERRORS = {
    "400": lambda: _("输入有误（fields 中列出字段和原因）"),
    "401": lambda: _("未登录，或令牌无效、已吊销、已过期，或用户已停用"),
    "403": lambda: _("角色无此权限"),
    "404": lambda: _("不存在或不在辖区内"),
    "405": lambda: _("不支持该请求方法"),
    "406": lambda: _("无法按 Accept 请求头给出响应格式"),
    "500": lambda: _("服务器内部错误"),
}
POST_ERRORS = {
    "409": lambda: _("当前状态不允许此操作，或已被他人修改"),
    "415": lambda: _("不支持的请求体格式"),
    "422": lambda: _("该 Idempotency-Key 已用于另一个请求"),
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _(
                "在管理后台或用 manage.py api_token_issue 签发的令牌：请求头 "
                "“Authorization: Bearer <令牌>”（也接受 “Token <令牌>”）。"
                "令牌用户的角色和辖区与该用户完全相同。"
            ),
        }


def _error_component() -> dict:
    return {
        "type": "object",
        "description": _("所有 /api/v1/ 接口的错误格式"),
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {
                        "type": "string",
                        "description": _(
                            "机器可读的错误代码，如 validation_error、not_authenticated、"
                            "authentication_failed、permission_denied、not_found、"
                            "method_not_allowed、conflict、idempotency_key_mismatch、"
                            "unsupported_media_type、server_error"
                        ),
                    },
                    "message": {"type": "string", "description": _("错误说明（按请求语言）")},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        "description": _("字段名 → 原因；嵌套字段写作 parties[0].name"),
                    },
                },
                "required": ["code", "message", "fields"],
            }
        },
        "required": ["error"],
    }


IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
        },
    }


def postprocess(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOKS entry: errors and Idempotency-Key on /api/v1/."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = _error_component()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            errors = {**COMMON_ERRORS, **(POST_ERRORS if method == "post" else {})}
            responses = operation.setdefault("responses", {})
            for status_code, description in errors.items():
                responses[status_code] = _error_response(description())
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                parameters[:] = [
                    p
                    for p in parameters
                    if not (p.get("in") == "header" and p.get("name") == "Idempotency-Key")
                ]
                parameters.append(
                    {
                        **IDEMPOTENCY_PARAMETER,
                        "description": _(
                            "防重复提交标识：同一用户同一标识24小时内重复提交返回首次的响应"
                            "（响应头 Idempotent-Replayed: true）；用于不同请求时返回 422。"
                        ),
                    }
                )
    return result


# GeoJSON (RFC 7946) FeatureCollection, as our layers answer it; paged collections add count,
# next and previous as foreign members, and layers may add their own (a choropleth's legend).
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "geometry": {
                        "type": "object",
                        "nullable": True,
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"type": "string"},
                            "coordinates": {"type": "array"},
                        },
                    },
                    "properties": {"type": "object", "nullable": True},
                },
            },
        },
        "count": {"type": "integer"},
        "next": {"type": "string", "nullable": True, "format": "uri"},
        "previous": {"type": "string", "nullable": True, "format": "uri"},
    },
}
GEOJSON = "application/geo+json"


def geojson_responses(description) -> dict:
    """`responses=` for an operation answering a FeatureCollection as application/geo+json."""
    from drf_spectacular.utils import OpenApiResponse

    return {(200, GEOJSON): OpenApiResponse(FEATURE_COLLECTION, description=description)}
