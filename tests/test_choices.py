"""config.choices.CachedChoiceLabels: get_FOO_display() as Django's, with the choices kept."""

import pytest
from django.db import models
from django.utils.translation import override

from mediation.models import Dispute, MediationCase
from petitions.models import Organization, Petition


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Petition, "status"),
        (Petition, "case_type"),
        (Petition, "channel"),
        (Dispute, "status"),
        (Dispute, "category"),
        (MediationCase, "status"),
        (Organization, "kind"),
    ],
)
def test_every_label_is_djangos_in_both_languages(model, field, language):
    f = model._meta.get_field(field)
    with override(language):
        for value, _label in f.flatchoices:
            obj = model(**{f.attname: value})
            shown = getattr(obj, f"get_{field}_display")()
            assert shown == models.Model._get_FIELD_display(obj, f)
            assert isinstance(shown, str) and shown


def test_the_label_follows_the_language_and_an_unknown_value_shows_as_itself():
    p = Petition(status="handling")
    with override("zh-hans"):
        zh = p.get_status_display()
    with override("en"):
        en = p.get_status_display()
    assert zh != en
    assert Petition(status="no-such-status").get_status_display() == "no-such-status"
