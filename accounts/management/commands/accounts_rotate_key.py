"""Re-encrypt every encrypted column with the current personal-data key.

Key rotation, step by step (keys are Fernet keys: `python -c "from cryptography.fernet import
Fernet; print(Fernet.generate_key().decode())"`):

1. Put the new key FIRST in PERSONAL_DATA_KEYS (or PERSONAL_DATA_KEYS_FILE), keeping the old
   ones after it — "NEW,OLD" — and restart the app and the workers. From now on new values are
   encrypted with NEW and old values still decrypt.
2. Run `manage.py accounts_rotate_key` (`--dry-run` first to see the counts). It walks every
   EncryptedCharField of every model in batches (`--batch-size`, default 500): ids are streamed
   with iterator(); each batch is locked (SELECT … FOR UPDATE on PostgreSQL), its raw tokens are
   read, and those not made under the first key are re-encrypted (MultiFernet.rotate) and written
   back with one UPDATE per batch (bulk_update). The database cannot re-encrypt by itself — it
   never holds the key — so the set-based part is the batched read and write.
3. When it reports nothing left to re-encrypt (running it again changes 0 values: it is
   idempotent), remove OLD from the list and restart. Keep a copy of OLD with the backups made
   before the rotation: restoring one of them needs it.

A value that no configured key decrypts is left untouched and counted as an error (exit status
1): that means a key is missing from the list — do not remove the old keys then.
The blind-index key (PERSONAL_DATA_INDEX_KEY) is not rotated by this command.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from accounts.crypto import InvalidToken, decrypt_text, is_current_token
from accounts.fields import EncryptedCharField


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted fields, and those fields' names."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        if names:
            found.append((model, names))
    return found


def rotate_model(model, fields: list[str], *, batch_size: int, dry_run: bool) -> dict[str, int]:
    """Re-encrypt one model's encrypted fields; counts of rows seen, values changed, errors."""
    counts = {"rows": 0, "changed": 0, "errors": 0}
    manager = model._base_manager
    # Cast to a plain text field: the raw token, without EncryptedCharField's decryption.
    raw = {f"_raw_{name}": Cast(name, models.TextField()) for name in fields}
    ids = manager.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=batch_size)
    for chunk in _batched(ids, batch_size):
        with transaction.atomic():
            rows = (
                manager.select_for_update()
                .filter(pk__in=chunk)
                .order_by("pk")
                .annotate(**raw)
                .values_list("pk", *raw)
            )
            changed: dict[str, list[models.Model]] = {name: [] for name in fields}
            for pk, *tokens in rows:
                counts["rows"] += 1
                obj = model(pk=pk)
                for name, token in zip(fields, tokens, strict=True):
                    if not token or is_current_token(token):
                        continue
                    try:
                        setattr(obj, name, decrypt_text(token))
                    except InvalidToken:
                        counts["errors"] += 1
                        continue
                    changed[name].append(obj)
                    counts["changed"] += 1
            if dry_run:
                continue
            for name, objs in changed.items():
                # One UPDATE … CASE per field and batch; the field encrypts the plaintext with
                # the current key on the way in. Only this field is written.
                if objs:
                    manager.bulk_update(objs, [name], batch_size=batch_size)
    return counts


class Command(BaseCommand):
    help = "Re-encrypt all personal data with the first key of PERSONAL_DATA_KEYS (see docstring)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, write nothing"
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be positive")
        errors = 0
        for model, fields in encrypted_columns():
            c = rotate_model(model, fields, batch_size=batch_size, dry_run=dry_run)
            errors += c["errors"]
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(
                f"{model._meta.label} ({', '.join(fields)}): {c['rows']} rows, "
                f"{verb} {c['changed']} values, {c['errors']} undecryptable"
            )
        if errors:
            raise CommandError(
                f"{errors} values decrypt under no configured key: a key is missing from "
                "PERSONAL_DATA_KEYS. Nothing was lost; do not remove old keys."
            )
