"""One error shape for every /api/v1/ endpoint (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]):

    {"error": {"code": "validation_error", "message": "…", "fields": {"field": ["reason"]}}}

`fields` maps a field (nested as "parties[0].name") to its reasons and is empty when the error
is not about fields. The services' ValidationError is a 400, their TransitionNotAllowed and
Conflict a 409; anything unexpected is logged and answered as a 500 in the same shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

logger = logging.getLogger("api")

VALIDATION_MESSAGE = _("输入有误，请检查标出的字段。")
SERVER_ERROR_MESSAGE = _("服务器内部错误，已记录，请稍后重试。")


class ApiError(exceptions.APIException):
    """An error with a status, a code, and optional field reasons."""

    def __init__(self, status_code: int, *, code: str, message="", fields: dict | None = None):
        self.status_code = status_code
        self.fields = fields or {}
        super().__init__(detail=message or VALIDATION_MESSAGE, code=code)


class Conflict(ApiError):
    def __init__(self, message, fields: dict | None = None):
        super().__init__(status.HTTP_409_CONFLICT, code="conflict", message=message, fields=fields)


class PreconditionFailed(ApiError):
    def __init__(self, message):
        super().__init__(
            status.HTTP_412_PRECONDITION_FAILED, code="precondition_failed", message=message
        )


class IdempotencyKeyMismatch(ApiError):
    def __init__(self):
        super().__init__(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            code="idempotency_key_mismatch",
            message=_("该防重复提交标识已用于另一个请求（方法、路径或内容不同），请换一个标识。"),
        )


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's (or Django's) nested reasons as flat keys: {"petitioners[0].name": ["…"]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int):  # ListField / many=True errors are keyed by row index
                name = f"{prefix}[{key}]"
            else:
                key = api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else str(key)
                name = f"{prefix}.{key}" if prefix else key
            out.update(flatten(value, name))
        return out
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        out = {}
        for i, item in enumerate(detail):
            if item:
                out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in items]} if items else {}


def validation_error(detail) -> ApiError:
    """A 400 from nested reasons; reasons not tied to a field become the message."""
    fields = flatten(detail)
    general = fields.pop(api_settings.NON_FIELD_ERRORS_KEY, [])
    message = " ".join(general) if general else VALIDATION_MESSAGE
    return ApiError(400, code="validation_error", message=message, fields=fields)


def _django_reasons(exc: DjangoValidationError):
    return exc.message_dict if hasattr(exc, "error_dict") else list(exc.messages)


def _translate(exc: Exception) -> Exception:
    """Django's and the services' exceptions as API exceptions."""
    from petitions.services.errors import Conflict as ServiceConflict
    from petitions.services.errors import TransitionNotAllowed

    if isinstance(exc, TransitionNotAllowed | ServiceConflict):
        fields = flatten(_django_reasons(exc))
        general = fields.pop(api_settings.NON_FIELD_ERRORS_KEY, [])
        message = " ".join(general) or " ".join(m for ms in fields.values() for m in ms)
        return Conflict(message, fields)
    if isinstance(exc, DjangoValidationError):
        return validation_error(_django_reasons(exc))
    if isinstance(exc, exceptions.ValidationError) and not isinstance(exc, ApiError):
        return validation_error(exc.detail)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        # Keep the reason a service or a shared role check gave (DRF's own handler drops it).
        return exceptions.PermissionDenied(exc.args[0] if exc.args else None)
    return exc


def error_body(code: str, message, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, ApiError):
        return exc.detail.code
    return getattr(exc.detail, "code", None) or exc.default_code


def _message(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict | list):
        return " ".join(m for ms in flatten(detail).values() for m in ms)
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _translate(exc)
    if not isinstance(exc, exceptions.APIException):
        request = context.get("request")
        logger.error(
            "Unhandled error in %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc_info=exc,
        )
        set_rollback()
        return Response(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    body = error_body(_code(exc), _message(exc), getattr(exc, "fields", None))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)
