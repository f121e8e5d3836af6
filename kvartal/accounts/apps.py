from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kvartal.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import session_started

        # Every sign-in (the sign-in page, the admin's, a test's force_login) starts the
        # idle clock, notes whether a second factor is due and lists the session.
        user_logged_in.connect(session_started, dispatch_uid="accounts-session-started")
