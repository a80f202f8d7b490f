"""The API's one error shape, for exact assertions in every app's API tests."""

VALIDATION = "输入有误，请检查标出的字段。"


def error(code: str, message: str = VALIDATION, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def invalid(fields: dict) -> dict:
    """A 400 about fields."""
    return error("validation_error", VALIDATION, fields)


def refused(message: str) -> dict:
    """A 400 not tied to a field (the message says why)."""
    return error("validation_error", message)


def conflict(message: str) -> dict:
    return error("conflict", message)
