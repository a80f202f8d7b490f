"""Personal data at rest (SPEC §7): encrypted columns, blind-index search, masking, key rotation,
the data migrations and the key settings."""

import importlib
import os
import subprocess
import sys
import types

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.crypto import blind_index, decrypt_text, encrypt_text, phone_digits
from accounts.models import Grant, Role
from mediation.models import MediationParty
from petitions.masking import mask_id, mask_id_number, mask_phone
from petitions.models import Organization, Petitioner
from petitions.selectors_people import petitioner_find
from tests.mediation.conftest import *  # noqa: F403 — open_case, mediator, committee, …
from tests.petitions.conftest import *  # noqa: F403 — office, clerk, register, …
from tests.petitions.conftest import VALID_ID

PHONE = "13812345678"
OTHER_ID = "210204198001011230"  # valid check digit, a different person
KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))


def raw_rows(table: str, *columns: str) -> list[tuple]:
    """The columns exactly as stored, past every model field conversion."""
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM {connection.ops.quote_name(table)} ORDER BY id")
        return cur.fetchall()


def petitioner_raw() -> list[tuple]:
    return raw_rows("petitions_petitioner", "id_number", "phone", "id_hash", "phone_hash")


@pytest.fixture
def keys_a(settings):
    settings.PERSONAL_DATA_KEYS = [KEY_A]
    return settings


# --- Encryption at rest -------------------------------------------------------------------------


def test_raw_columns_hold_no_plaintext(register):
    register()
    [(id_number, phone, id_hash, phone_hash)] = petitioner_raw()
    for stored in (id_number, phone, id_hash, phone_hash):
        assert VALID_ID not in stored
        assert PHONE not in stored
    # Fernet tokens (version byte 0x80), one per value, decrypting to the values.
    assert id_number.startswith("gAAAAA") and phone.startswith("gAAAAA")
    assert (decrypt_text(id_number), decrypt_text(phone)) == (VALID_ID, PHONE)
    assert (id_hash, phone_hash) == (
        blind_index(VALID_ID, purpose="id"),
        blind_index(PHONE, purpose="phone"),
    )


def test_model_attribute_decrypts(register):
    petition = register().petition
    p = Petitioner.objects.get(petition=petition)
    assert (p.id_number, p.phone) == (VALID_ID, PHONE)
    assert list(Petitioner.objects.values_list("id_number", "phone")) == [(VALID_ID, PHONE)]


def test_same_value_encrypts_differently_each_time(register):
    register()
    register(summary="另一件")
    [(a, *_), (b, *_)] = petitioner_raw()
    assert a != b  # random IV: equal values are not visible as equal tokens


def test_empty_values_stay_empty_and_queryable(register):
    register(petitioners=[{"name": "李四"}])
    assert petitioner_raw() == [("", "", "", "")]
    assert Petitioner.objects.filter(phone="").count() == 1
    assert Petitioner.objects.exclude(id_number="").count() == 0


@pytest.mark.parametrize(
    "lookup",
    [
        {"phone": PHONE},
        {"id_number": VALID_ID},
        {"phone__icontains": "5678"},
        {"phone__in": [PHONE]},
    ],
)
def test_lookups_on_encrypted_values_refuse(register, lookup):
    register()
    with pytest.raises(FieldError):
        list(Petitioner.objects.filter(**lookup))


def test_save_updates_value_and_blind_index(register):
    p = Petitioner.objects.get(petition=register().petition)
    p.phone = "0411-84123456"
    p.save()
    [(_, phone, _, phone_hash)] = petitioner_raw()
    assert "84123456" not in phone
    assert decrypt_text(phone) == "0411-84123456"
    assert phone_hash == blind_index("041184123456", purpose="phone")


def test_plaintext_length_is_still_limited():
    field = Petitioner._meta.get_field("id_number")
    with pytest.raises(ValidationError) as e:
        field.clean("1" * 19, None)
    assert [err.code for err in e.value.error_list] == ["max_length"]
    assert field.clean("1" * 18, None) == "1" * 18


def test_mediation_party_phone_is_encrypted(open_case):
    case = open_case()
    stored = raw_rows("mediation_mediationparty", "phone")
    assert [s for (s,) in stored if "1380000000" in s] == []
    assert sorted(case.parties.values_list("phone", flat=True)) == ["13800000001", "13800000002"]


def test_invalid_key_is_a_configuration_error_that_hides_the_key(settings):
    settings.PERSONAL_DATA_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured) as e:
        encrypt_text("x")
    assert str(e.value) == "PERSONAL_DATA_KEYS[0] is not a Fernet key (32 url-safe base64 bytes)."


# --- Blind-index search -------------------------------------------------------------------------


@pytest.fixture
def people(register, office, category):
    """Three petitions of 210204001 and one of 210204002 (outside the clerk's grant)."""
    other_office = Organization.objects.create(
        name="测试2街道办事处", kind=Organization.Kind.STREET_OFFICE, area_code="210204002"
    )
    a = register(petitioners=[{"name": "张三", "id_number": VALID_ID, "phone": PHONE}]).petition
    b = register(
        summary="第二件",
        petitioners=[{"name": "张三", "id_number": VALID_ID, "phone": "13900000000"}],
    ).petition
    c = register(
        summary="第三件", petitioners=[{"name": "李四", "id_number": OTHER_ID, "phone": PHONE}]
    ).petition
    d = register(
        summary="另一街道",
        organization=other_office,
        petitioners=[{"name": "张三", "id_number": VALID_ID, "phone": PHONE}],
    ).petition
    return a, b, c, d


def found(qs) -> list[tuple[int, str]]:
    return sorted((p.petition_id, p.name) for p in qs)


def test_find_by_identity_number_is_exact_and_scoped(clerk, people):
    a, b, c, d = people
    assert found(petitioner_find(clerk, id_number=VALID_ID)) == [(a.pk, "张三"), (b.pk, "张三")]
    # Case and spaces do not matter (normalised before hashing) …
    assert found(petitioner_find(clerk, id_number=f" {VALID_ID.lower()} ")) == [
        (a.pk, "张三"),
        (b.pk, "张三"),
    ]
    # … but anything but the whole number finds nothing: no prefix, no substring.
    assert found(petitioner_find(clerk, id_number=VALID_ID[:17])) == []
    assert found(petitioner_find(clerk, id_number=VALID_ID[:6])) == []
    assert found(petitioner_find(clerk, id_number=OTHER_ID)) == [(c.pk, "李四")]


def test_find_by_phone_in_any_written_form(clerk, people):
    a, b, c, d = people
    expected = [(a.pk, "张三"), (c.pk, "李四")]
    assert found(petitioner_find(clerk, phone=PHONE)) == expected
    assert found(petitioner_find(clerk, phone="+86 138 1234 5678")) == expected
    assert found(petitioner_find(clerk, phone="138-1234-5678")) == expected
    assert found(petitioner_find(clerk, phone=PHONE[:-1])) == []
    assert found(petitioner_find(clerk, phone="5678")) == []


def test_find_by_both_needs_both(clerk, people):
    a, b, c, d = people
    assert found(petitioner_find(clerk, id_number=VALID_ID, phone=PHONE)) == [(a.pk, "张三")]
    assert found(petitioner_find(clerk, id_number=OTHER_ID, phone="13900000000")) == []


def test_find_nothing_without_input_or_personal_data_role(clerk, people, leader, grid_worker):
    assert found(petitioner_find(clerk)) == []
    assert found(petitioner_find(clerk, id_number="  ", phone="")) == []
    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204")
    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code="210204")
    assert found(petitioner_find(leader, id_number=VALID_ID)) == []
    assert found(petitioner_find(grid_worker, phone=PHONE)) == []


def test_bureau_finds_the_whole_district(bureau_user, people):
    a, b, c, d = people
    assert found(petitioner_find(bureau_user, id_number=VALID_ID)) == [
        (a.pk, "张三"),
        (b.pk, "张三"),
        (d.pk, "张三"),
    ]


def test_find_is_one_query(clerk, people, django_assert_num_queries):
    petitioner_find(clerk, phone=PHONE).count()  # warm the grant cache
    with django_assert_num_queries(1):
        assert len(list(petitioner_find(clerk, phone=PHONE))) == 2


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("0411-84123456", "041184123456"),
        ("+86 411 8412 3456", "041184123456"),
        ("84123456", "84123456"),
        ("", ""),
    ],
)
def test_phone_digits(written, digits):
    assert phone_digits(written) == digits


# --- Masking ----------------------------------------------------------------------------------


def test_masks():
    assert mask_id("21020419800101123X") == "2102**********123X"
    assert mask_id_number("21020419800101123X") == "2102**********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0411-84123456") == "041******3456"
    assert (mask_id(""), mask_phone("")) == ("", "")


# --- Key rotation -----------------------------------------------------------------------------


def test_rotation_reencrypts_everything_with_the_new_key(keys_a, register, open_case):
    register()
    register(summary="第二件", petitioners=[{"name": "李四", "phone": "0411-84123456"}])
    open_case()
    before = petitioner_raw(), raw_rows("mediation_mediationparty", "phone")

    keys_a.PERSONAL_DATA_KEYS = [KEY_B, KEY_A]
    call_command("accounts_rotate_key", batch_size=1, stdout=(out := _Out()))
    assert out.lines == [
        "petitions.Petitioner (id_number, phone): 2 rows, re-encrypted 3 values, 0 undecryptable",
        "mediation.MediationParty (phone): 2 rows, re-encrypted 2 values, 0 undecryptable",
        # every encrypted column is visited, including the ledger's raw error values
        "ledger.LedgerRowError (raw_value): 0 rows, re-encrypted 0 values, 0 undecryptable",
    ]
    after = petitioner_raw(), raw_rows("mediation_mediationparty", "phone")
    # Every non-empty token changed; the blind indexes did not.
    assert [r[:2] for r in after[0]] != [r[:2] for r in before[0]]
    assert [r[2:] for r in after[0]] == [r[2:] for r in before[0]]
    assert set(after[1]).isdisjoint(before[1])
    b = Fernet(KEY_B.encode())
    tokens = [t for row in after[0] for t in row[:2] if t] + [t for (t,) in after[1]]
    assert len(tokens) == 5
    assert sorted(b.decrypt(t.encode()).decode() for t in tokens) == sorted(
        [VALID_ID, PHONE, "0411-84123456", "13800000001", "13800000002"]
    )

    # The old key can go: everything still decrypts under B alone.
    keys_a.PERSONAL_DATA_KEYS = [KEY_B]
    assert sorted(Petitioner.objects.values_list("id_number", "phone")) == [
        ("", "0411-84123456"),
        (VALID_ID, PHONE),
    ]
    assert sorted(MediationParty.objects.values_list("phone", flat=True)) == [
        "13800000001",
        "13800000002",
    ]


def test_rotation_is_idempotent_and_dry_run_writes_nothing(keys_a, register):
    register()
    keys_a.PERSONAL_DATA_KEYS = [KEY_B, KEY_A]
    before = petitioner_raw()
    call_command("accounts_rotate_key", dry_run=True, stdout=(out := _Out()))
    assert (
        "petitions.Petitioner (id_number, phone): 1 rows, would re-encrypt 2 values, 0 undecryptable"
        in out.lines
    )
    assert petitioner_raw() == before
    call_command("accounts_rotate_key", stdout=_Out())
    once = petitioner_raw()
    call_command("accounts_rotate_key", stdout=(out := _Out()))
    assert (
        "petitions.Petitioner (id_number, phone): 1 rows, re-encrypted 0 values, 0 undecryptable"
        in out.lines
    )
    assert petitioner_raw() == once


def test_rotation_with_a_missing_key_fails_and_changes_nothing(keys_a, register):
    register()
    before = petitioner_raw()
    keys_a.PERSONAL_DATA_KEYS = [KEY_C]
    with pytest.raises(CommandError) as e:
        call_command("accounts_rotate_key", stdout=_Out())
    assert str(e.value).startswith("2 values decrypt under no configured key")
    assert petitioner_raw() == before


class _Out:
    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines += [line for line in text.splitlines() if line]

    def flush(self):
        pass


# --- Data migrations: existing plaintext rows are encrypted, and back ---------------------------


def _migration(label: str):
    return importlib.import_module(label)


def _editor():
    # What the migration functions use of a schema editor (a real one cannot open inside a test's
    # transaction on SQLite).
    return types.SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)


def _write_raw(table: str, column: str, value: str):
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {qn(table)} SET {qn(column)} = %s", [value])


def test_petitions_migration_encrypts_existing_plaintext(register):
    register()
    # A row as it was before the migration: plaintext, no phone index.
    _write_raw("petitions_petitioner", "id_number", VALID_ID)
    _write_raw("petitions_petitioner", "phone", PHONE)
    _write_raw("petitions_petitioner", "phone_hash", "")
    migration = _migration("petitions.migrations.0003_personal_data_encrypted")

    migration.encrypt_existing(apps, _editor())
    [(id_number, phone, id_hash, phone_hash)] = petitioner_raw()
    assert VALID_ID not in id_number and PHONE not in phone
    assert (decrypt_text(id_number), decrypt_text(phone)) == (VALID_ID, PHONE)
    assert (id_hash, phone_hash) == (
        blind_index(VALID_ID, purpose="id"),
        blind_index(PHONE, purpose="phone"),
    )
    migration.encrypt_existing(apps, _editor())  # a re-run keeps the data
    assert Petitioner.objects.values_list("id_number", "phone").get() == (VALID_ID, PHONE)

    migration.decrypt_existing(apps, _editor())
    assert petitioner_raw()[0][:2] == (VALID_ID, PHONE)


def test_mediation_migration_encrypts_existing_plaintext(open_case):
    open_case()
    _write_raw("mediation_mediationparty", "phone", "13800000009")
    migration = _migration("mediation.migrations.0002_personal_data_encrypted")

    migration.encrypt_existing(apps, _editor())
    stored = [s for (s,) in raw_rows("mediation_mediationparty", "phone")]
    assert all("13800000009" not in s for s in stored)
    assert list(MediationParty.objects.values_list("phone", flat=True)) == ["13800000009"] * 2

    migration.decrypt_existing(apps, _editor())
    assert raw_rows("mediation_mediationparty", "phone") == [("13800000009",)] * 2


# --- Key settings -----------------------------------------------------------------------------


def _settings_in_subprocess(env: dict) -> subprocess.CompletedProcess:
    code = (
        "import json, config.settings as s;print(json.dumps([s.PERSONAL_DATA_KEYS, s.SECRET_KEY]))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PERSONAL_DATA", "DEBUG"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_from_env_and_file(tmp_path):
    done = _settings_in_subprocess({"PERSONAL_DATA_KEYS": f" {KEY_B} , {KEY_A} "})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f'[["{KEY_B}", "{KEY_A}"]')
    path = tmp_path / "keys"
    path.write_text(f"{KEY_C}\n{KEY_B}\n")
    done = _settings_in_subprocess({"PERSONAL_DATA_KEYS_FILE": str(path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(f'[["{KEY_C}", "{KEY_B}"]')


def test_development_key_is_derived_from_secret_key():
    one = _settings_in_subprocess({"SECRET_KEY": "s" * 50})
    two = _settings_in_subprocess({"SECRET_KEY": "t" * 50})
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    key_one, key_two = (d.stdout.split('"')[1] for d in (one, two))
    assert key_one != key_two
    assert key_one == _settings_in_subprocess({"SECRET_KEY": "s" * 50}).stdout.split('"')[1]
    Fernet(key_one.encode())  # a valid Fernet key


def test_production_refuses_to_start_without_keys():
    done = _settings_in_subprocess(
        {"DEBUG": "false", "SECRET_KEY": "p" * 50, "PERSONAL_DATA_INDEX_KEY": "i" * 40}
    )
    assert done.returncode == 1
    assert "PERSONAL_DATA_KEYS (or PERSONAL_DATA_KEYS_FILE) must be set." in done.stderr
    done = _settings_in_subprocess(
        {"DEBUG": "false", "SECRET_KEY": "p" * 50, "PERSONAL_DATA_KEYS": KEY_A}
    )
    assert done.returncode == 1
    assert "PERSONAL_DATA_INDEX_KEY (or its _FILE) must be set." in done.stderr
