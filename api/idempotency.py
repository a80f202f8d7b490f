"""`Idempotency-Key` on /api/v1/ POSTs (decorate the handler with @idempotent).

Per user and key, the first successful (2xx) answer is stored with a fingerprint of the request
(method, path, body). The same key again replays that answer with `Idempotent-Replayed: true`;
the same key on a different request is a 422. The record is inserted before the view runs, in
the same transaction: a concurrent request with the same key blocks on the unique index until
the first commits, then replays (or, if the first failed and rolled back, runs itself). Failed
answers are not kept, so the client can correct the request and retry with the same key.
Records expire after settings.IDEMPOTENCY_TTL (api.services.idempotency_sweep deletes them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from api.exceptions import ApiError, IdempotencyKeyMismatch
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as HTTP header values are


class _Unsuccessful(Exception):
    """Carries a non-2xx answer out of the transaction so that the record is rolled back."""

    def __init__(self, response):
        self.response = response


def _file_digest(upload: UploadedFile) -> dict:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def _canonical(data):
    if hasattr(data, "lists"):  # QueryDict / MultiValueDict: every value of every key
        return {key: [_canonical(v) for v in values] for key, values in sorted(data.lists())}
    if isinstance(data, dict):
        return {str(k): _canonical(v) for k, v in sorted(data.items())}
    if isinstance(data, list | tuple):
        return [_canonical(v) for v in data]
    if isinstance(data, UploadedFile):
        return _file_digest(data)
    return data


def fingerprint(request) -> str:
    """Method, path and body (parsed, so that JSON key order does not matter)."""
    text = json.dumps(
        [request.method, request.path, _canonical(request.data)],
        sort_keys=True,
        cls=JSONEncoder,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _key(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise ApiError(
            400,
            code="validation_error",
            message=_("防重复提交标识无效。"),
            fields={HEADER: [str(_("防重复提交标识应为1至255个可见 ASCII 字符。"))]},
        )
    return key


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(json.loads(record.body) if record.body else None, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def _claim(request, key: str, print_: str) -> tuple[IdempotencyRecord, bool]:
    """The record for (user, key): inserted now (True) or an earlier one (False)."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(
        user=request.user, key=key, created_at__lt=now - settings.IDEMPOTENCY_TTL
    ).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=request.user,
                key=key,
                method=request.method,
                path=request.path[:255],
                fingerprint=print_,
                created_at=now,
            )
        return record, True
    except IntegrityError:
        return IdempotencyRecord.objects.get(user=request.user, key=key), False


def stored_answer(response: Response) -> tuple[int, object]:
    """What a replay answers: the view may set `response.idempotent_replay = (status, data)` when
    the first answer holds something to show only once (a petition's query code)."""
    return getattr(response, "idempotent_replay", None) or (response.status_code, response.data)


def idempotent(handler):
    """Decorate an APIView's post() so that it honours Idempotency-Key."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = _key(request)
        if key is None or not request.user.is_authenticated:
            return handler(self, request, *args, **kwargs)
        print_ = fingerprint(request)
        try:
            with transaction.atomic():
                record, created = _claim(request, key, print_)
                if not created:
                    if record.fingerprint != print_:
                        raise IdempotencyKeyMismatch()
                    return _replay(record)
                response = handler(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _Unsuccessful(response)
                record.status_code, data = stored_answer(response)
                record.body = json.dumps(data, cls=JSONEncoder, ensure_ascii=False)
                record.save(update_fields=["status_code", "body"])
                return response
        except _Unsuccessful as failed:
            return failed.response

    wrapper.idempotent = True
    return wrapper
