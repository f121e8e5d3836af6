from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("start/", views.start, name="start"),
    path("two-factor/", views.two_factor, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/remove/", views.two_factor_remove, name="two-factor-remove"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("security/", views.my_security, name="security"),
    path("security/sessions/end-others/", views.sessions_end_others, name="sessions-end-others"),
    path("password/", views.PasswordChangeView.as_view(), name="password"),
]
