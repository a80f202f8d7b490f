"""Serializer base classes shared by the apps' APIs."""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from rest_framework import serializers


class ApiModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose schema tells the truth about blank choices.

    DRF drops `allow_blank` from read-only fields, so the OpenAPI schema would promise one of
    the choices where the model stores "" (a petition not yet routed, a dispute not diverted);
    schemathesis caught it. Read-only choice fields of blank CharFields get it back."""

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            if not isinstance(field, serializers.ChoiceField) or field.allow_blank:
                continue
            try:  # fields are not bound yet: `source` is only set when given explicitly
                model_field = self.Meta.model._meta.get_field(field.source or name)
            except FieldDoesNotExist:
                continue
            if isinstance(model_field, models.CharField) and model_field.blank:
                field.allow_blank = True
        return fields
