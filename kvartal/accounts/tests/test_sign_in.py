"""Signing in (issue 12 §2): lockouts, the second factor, sessions, blocking, passwords.

Every refused step asserts that nothing changed: no session, no device, no code used up.
"""

import importlib
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kvartal.accounts import recovery, security
from kvartal.accounts.middleware import SEEN
from kvartal.accounts.models import Role, UserSession
from kvartal.audit.models import AuditEvent, Kind
from kvartal.core.testing import PASSWORD, make_user

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def sign_in(client, user, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": user.username, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


@pytest.fixture
def two_factor_roles(settings):
    settings.KVARTAL_2FA_ROLES = frozenset({"admin", "director"})


@pytest.fixture
def no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = security.totp_start(user=user)
    return device, security.totp_confirm(user=user, device=device, token=code(device))


# --- brute force ---------------------------------------------------------------------------


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, manager, settings):
    codes = [sign_in(client, manager, "wrong").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]  # the fifth failure locks
    response = sign_in(client, manager)
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(kind=Kind.LOCKOUT).exists()
    # From another address too: the login itself is locked.
    assert sign_in(Client(), manager, REMOTE_ADDR="198.51.100.5").status_code == 429


def test_one_address_trying_many_logins_is_throttled(client, settings):
    users = [make_user(Role.SALES_MANAGER) for _ in range(settings.AXES_FAILURE_LIMIT + 1)]
    for user in users[:-1]:
        sign_in(client, user, "wrong")
    assert sign_in(client, users[-1]).status_code == 429  # a fresh login, the same address
    assert not signed_in(client)
    assert sign_in(Client(), users[-1], REMOTE_ADDR="198.51.100.9").status_code == 302


def test_the_administrator_sees_the_lockout_and_lifts_it(client, manager, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, manager, "wrong", REMOTE_ADDR="198.51.100.1")
    office = Client()
    office.force_login(admin_user)
    page = office.get(reverse("audit:lockout-list")).content.decode()
    assert manager.username in page and "198.51.100.1" in page
    office.post(reverse("audit:lockout-lift"), {"username": manager.username})
    office.post(reverse("audit:lockout-lift"), {"address": "198.51.100.1"})
    assert AuditEvent.objects.filter(kind=Kind.UNLOCK, actor=admin_user).count() == 2
    assert sign_in(client, manager, REMOTE_ADDR="198.51.100.1").status_code == 302
    assert signed_in(client)


def test_a_manager_cannot_lift_a_lock(client, manager, other_manager, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), other_manager, "wrong")
    client.force_login(manager)
    response = client.post(reverse("audit:lockout-lift"), {"username": other_manager.username})
    assert response.status_code == 403
    assert sign_in(Client(), other_manager).status_code == 429  # still locked


# --- two-factor sign-in --------------------------------------------------------------------


def test_a_director_must_set_up_a_second_factor_before_anything_else(
    client, director, two_factor_roles
):
    response = sign_in(client, director)
    assert response.url.startswith(reverse("accounts:two-factor-setup"))
    blocked = client.get(reverse("inventory:home"))
    assert blocked.status_code == 302
    assert blocked.url.startswith(reverse("accounts:two-factor-setup"))
    page = client.get(reverse("accounts:two-factor-setup"))
    assert "<svg" in page.content.decode()  # the QR code, drawn here (no outside service)


def test_a_wrong_set_up_code_changes_nothing(client, director, two_factor_roles):
    sign_in(client, director)
    client.get(reverse("accounts:two-factor-setup"))
    response = client.post(reverse("accounts:two-factor-setup"), {"code": "000000"})
    assert "The code is wrong" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=director, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=director).exists()
    assert client.get(reverse("inventory:home")).status_code == 302
    assert AuditEvent.objects.filter(kind=Kind.TWO_FACTOR_FAILED, actor=director).exists()


def test_set_up_with_the_right_code_shows_ten_recovery_codes_once(
    client, director, two_factor_roles
):
    sign_in(client, director)
    client.get(reverse("accounts:two-factor-setup"))
    device = TOTPDevice.objects.get(user=director)
    response = client.post(reverse("accounts:two-factor-setup"), {"code": code(device)})
    codes = response.context["codes"]
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=director).count() == 10
    assert client.get(reverse("inventory:home")).status_code == 200
    assert AuditEvent.objects.filter(kind=Kind.TWO_FACTOR, action="totp_enrol").exists()


def test_an_enrolled_user_enters_a_code_after_the_password(client, manager, no_throttle):
    device, _codes = enrol(manager)
    response = sign_in(client, manager)
    assert response.url.startswith(reverse("accounts:two-factor"))
    wrong = client.post(reverse("accounts:two-factor"), {"code": "123456"})
    assert "wrong, expired or already used" in wrong.content.decode()
    assert client.get(reverse("inventory:home")).url.startswith(reverse("accounts:two-factor"))
    device.refresh_from_db()
    device.last_t = -1  # the set-up used the current step's code; a new step's is fresh
    device.save()
    ok = client.post(reverse("accounts:two-factor"), {"code": code(device)})
    assert ok.status_code == 302
    assert client.get(reverse("inventory:home")).status_code == 200


def test_a_code_is_not_accepted_twice(client, manager, no_throttle):
    device = security.totp_start(user=manager)
    used = code(device)  # the set-up consumes this code (read once: a new step may begin)
    security.totp_confirm(user=manager, device=device, token=used)
    sign_in(client, manager)
    response = client.post(reverse("accounts:two-factor"), {"code": used})
    assert response.status_code == 200 and "already used" in response.content.decode()


def test_a_recovery_code_works_once(client, manager, no_throttle):
    _device, codes = enrol(manager)
    sign_in(client, manager)
    assert client.post(reverse("accounts:two-factor"), {"code": codes[0]}).status_code == 302
    assert StaticToken.objects.filter(device__user=manager).count() == 9
    assert AuditEvent.objects.filter(action="recovery_code_used").exists()
    again = Client()
    sign_in(again, manager)
    response = again.post(reverse("accounts:two-factor"), {"code": codes[0]})
    assert "already used" in response.content.decode()
    assert StaticToken.objects.filter(device__user=manager).count() == 9
    assert again.get(reverse("inventory:home")).status_code == 302


def test_the_database_holds_no_recovery_code_in_clear(manager):
    _device, codes = enrol(manager)
    stored = list(StaticToken.objects.filter(device__user=manager).values_list("token", flat=True))
    assert len(stored) == len(set(codes)) == 10
    assert not set(stored) & set(codes)
    assert not any(c in token or c.upper() in token for token in stored for c in codes)
    assert sorted(stored) == sorted(recovery.digest(c) for c in codes)


def test_a_wrong_recovery_code_is_refused_and_uses_nothing_up(manager, no_throttle):
    _device, codes = enrol(manager)
    stored = recovery.digest(codes[0])
    # the last character changed to another one (a code that ends in "x" must not get "x")
    typo = codes[0][:-1] + ("y" if codes[0].endswith("x") else "x")
    assert typo not in codes
    for wrong in ("abcdefgh", stored, stored[2:], typo):
        with pytest.raises(security.SecurityRefused):
            security.two_factor_check(user=manager, token=wrong)
    assert StaticToken.objects.filter(device__user=manager).count() == 10


def test_a_recovery_code_is_accepted_once_as_typed_with_spaces_or_capitals(manager, no_throttle):
    _device, codes = enrol(manager)
    typed = f" {codes[3][:4].upper()} {codes[3][4:]} "
    assert security.two_factor_check(user=manager, token=typed).name == "recovery"
    with pytest.raises(security.SecurityRefused):
        security.two_factor_check(user=manager, token=codes[3])
    assert StaticToken.objects.filter(device__user=manager).count() == 9


def test_a_recovery_code_issued_before_a_key_rotation_still_works(manager, no_throttle, settings):
    _device, codes = enrol(manager)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert security.two_factor_check(user=manager, token=codes[0]).name == "recovery"
    assert StaticToken.objects.filter(device__user=manager).count() == 9


def test_the_migration_hashes_codes_stored_in_clear_and_they_still_work_once(manager, no_throttle):
    from django.apps import apps

    migration = importlib.import_module("kvartal.accounts.migrations.0006_hash_recovery_codes")
    device, _codes = enrol(manager)
    StaticToken.objects.filter(device__user=manager).delete()
    codes_device = StaticDevice.objects.get(user=manager)
    StaticToken.objects.create(device=codes_device, token="abcd2345")
    StaticToken.objects.create(device=codes_device, token="wxyz6789")
    migration.hash_clear_codes(apps, None)
    migration.hash_clear_codes(apps, None)  # a second run changes nothing
    stored = set(StaticToken.objects.filter(device__user=manager).values_list("token", flat=True))
    assert stored == {recovery.digest("abcd2345"), recovery.digest("wxyz6789")}
    assert security.two_factor_check(user=manager, token="abcd2345") == codes_device
    with pytest.raises(security.SecurityRefused):
        security.two_factor_check(user=manager, token="abcd2345")


def test_repeated_wrong_codes_are_slowed_down(client, manager):
    device, _codes = enrol(manager)
    sign_in(client, manager)
    client.post(reverse("accounts:two-factor"), {"code": "111111"})
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    response = client.post(reverse("accounts:two-factor"), {"code": code(device)})
    assert "Too many wrong codes" in response.content.decode()  # even the right one, at once
    assert client.get(reverse("inventory:home")).status_code == 302


def test_a_required_role_cannot_turn_the_second_factor_off(client, director, two_factor_roles):
    device, _codes = enrol(director)
    device.last_t = -1  # a fresh code: refused for the role, not as a replay
    device.save()
    client.force_login(director)
    with pytest.raises(security.SecurityRefused):
        security.two_factor_remove(user=director, token=code(device))
    assert TOTPDevice.objects.filter(user=director, confirmed=True).exists()


# --- sessions ------------------------------------------------------------------------------


def test_an_idle_session_ends(client, manager, settings):
    settings.KVARTAL_IDLE_MINUTES = 30
    sign_in(client, manager)
    session = client.session
    session[SEEN] = time.time() - 31 * 60
    session.save()
    response = client.get(reverse("inventory:home"))
    assert response.status_code == 302 and "idle=1" in response.url
    assert not signed_in(client)
    page = client.get(response.url).content.decode()
    assert "signed out after a while without activity" in page


def test_a_session_in_use_stays(client, manager, settings):
    sign_in(client, manager)
    session = client.session
    session[SEEN] = time.time() - 29 * 60
    session.save()
    assert client.get(reverse("inventory:home")).status_code == 200


def test_a_user_sees_their_sessions_and_ends_the_others(manager):
    office, phone = Client(), Client(HTTP_USER_AGENT="Phone")
    sign_in(office, manager)
    sign_in(phone, manager)
    page = office.get(reverse("accounts:security")).content.decode()
    assert "Phone" in page
    assert UserSession.objects.filter(user=manager).count() == 2
    office.post(reverse("accounts:sessions-end-others"))
    assert phone.get(reverse("inventory:home")).status_code == 302
    assert office.get(reverse("inventory:home")).status_code == 200
    assert UserSession.objects.filter(user=manager).count() == 1


def test_blocking_a_user_ends_every_session_at_once(client, manager, admin_user):
    sign_in(client, manager)
    other = Client()
    sign_in(other, manager)
    security.user_set_active(user=manager, active=False, by=admin_user)
    for old in (client, other):
        response = old.get(reverse("inventory:home"))
        assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert not UserSession.objects.filter(user=manager).exists()
    assert AuditEvent.objects.filter(kind=Kind.BLOCK, object_id=str(manager.pk)).exists()
    assert sign_in(Client(), manager).status_code == 200  # and cannot sign in again


def test_blocking_in_the_admin_ends_the_sessions(client, manager, admin_user):
    sign_in(client, manager)
    office = Client()
    office.force_login(admin_user)
    office.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "block", "_selected_action": [manager.pk]},
    )
    manager.refresh_from_db()
    assert not manager.is_active
    assert client.get(reverse("inventory:home")).status_code == 302


def test_nobody_blocks_themselves(admin_user):
    with pytest.raises(security.SecurityRefused):
        security.user_set_active(user=admin_user, active=False, by=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_changing_the_password_ends_the_other_sessions(manager):
    here, there = Client(), Client()
    sign_in(here, manager)
    sign_in(there, manager)
    response = here.post(
        reverse("accounts:password"),
        {
            "old_password": PASSWORD,
            "new_password1": "Ne3w-pass-word!",
            "new_password2": "Ne3w-pass-word!",
        },
    )
    assert response.status_code == 302
    assert here.get(reverse("inventory:home")).status_code == 200
    assert there.get(reverse("inventory:home")).status_code == 302
    assert AuditEvent.objects.filter(kind=Kind.PASSWORD, actor=manager).exists()


def test_a_wrong_old_password_changes_nothing(client, manager):
    sign_in(client, manager)
    response = client.post(
        reverse("accounts:password"),
        {
            "old_password": "nope",
            "new_password1": "Ne3w-pass-word!",
            "new_password2": "Ne3w-pass-word!",
        },
    )
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_signed_in_pages_are_not_stored(client, manager):
    client.force_login(manager)
    response = client.get(reverse("inventory:home"))
    assert "no-store" in response["Cache-Control"]


def test_the_admin_sign_in_is_the_products(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url.startswith(LOGIN)
