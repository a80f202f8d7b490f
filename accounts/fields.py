"""Model fields for personal data: encrypted at rest, searchable only through a blind index.

Why our own ~80 lines rather than a package: django-fernet-encrypted-fields (0.4.0) derives its
keys from SECRET_KEY + SALT_KEY with PBKDF2, so the data key cannot be given explicitly from the
environment and rotating the session secret would rotate (and, done carelessly, lose) the data;
the older django-fernet-fields / django-encrypted-model-fields are unmaintained. `cryptography`'s
MultiFernet gives exactly what we need — an explicit key list, first key encrypts, all decrypt,
`rotate()` — so the fields below are a thin layer over it (accounts/crypto.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact, IsNull

from accounts.crypto import blind_index, decrypt_text, encrypt_text


class _EmptyOnlyExact(Exact):
    """`field=""` still works (has no value); any other value would compare fresh random tokens."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.output_field.name} is encrypted: search it through its blind index."
            )
        return super().get_prep_lookup()


class EncryptedCharField(models.TextField):
    """Text encrypted with Fernet under settings.PERSONAL_DATA_KEYS; the attribute is plaintext.

    The column holds an ASCII token (~120 characters for an 18-character identity number), so it
    is a text column; `max_length` limits the plaintext. An empty value is stored as '' so that
    "has no phone" stays queryable; every other lookup raises — use the blind index instead.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return None

    def get_transform(self, lookup_name):
        return None

    def formfield(self, **kwargs):
        # One line of text, not a textarea (TextField's default).
        return super(models.TextField, self).formfield(
            **{"form_class": forms.CharField, "max_length": self.max_length, **kwargs}
        )


class BlindIndexField(models.CharField):
    """Keyed hash (accounts.crypto.blind_index) of another field, recomputed on every insert and
    save — bulk_create included — so it cannot drift from the value it indexes.

    QuerySet.update() and save(update_fields=[...]) without this field bypass it: name it too.
    """

    def __init__(
        self,
        *args,
        source: str,
        purpose: str,
        normalize: Callable[[str], str] | None = None,
        **kwargs,
    ):
        self.source, self.purpose, self.normalize = source, purpose, normalize
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, purpose=self.purpose)
        if self.normalize is not None:
            kwargs["normalize"] = self.normalize
        # Spell out the values our defaults differ from Field's, so the migration reads plainly.
        kwargs.update(editable=self.editable, db_index=self.db_index, blank=self.blank)
        return name, path, args, kwargs

    def hash_of(self, value: str) -> str:
        value = value or ""
        return blind_index(self.normalize(value) if self.normalize else value, purpose=self.purpose)

    def pre_save(self, model_instance, add):
        value = self.hash_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
