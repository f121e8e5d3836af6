"""Sign-in, the second factor, one's own password and sessions (issue 12 §2)."""

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import events, security
from .forms import CodeForm, SetupCodeForm
from .middleware import TWO_FACTOR
from .models import UserSession
from .start import start_url

SETUP = "_kv_totp_setup"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return start_url(request.user)


class LoginView(auth_views.LoginView):
    """Password first (django-axes counts failures); then, for whoever needs one, the second
    factor; then the role's start page (or the page asked for)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)  # signs in: see middleware.session_started
        user = form.get_user()
        session = self.request.session
        if session.get(TWO_FACTOR):
            name = "accounts:two-factor"
            if not security.has_two_factor(user):
                name = "accounts:two-factor-setup"
            return redirect_with_next(reverse(name), self.get_redirect_url())
        return response

    def get_default_redirect_url(self):
        return start_url(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["idle"] = "idle" in self.request.GET
        return context


def redirect_with_next(url: str, next_url: str):
    from django.http import QueryDict

    if not next_url:
        return redirect(url)
    query = QueryDict(mutable=True)
    query["next"] = next_url
    return redirect(f"{url}?{query.urlencode()}")


@login_required
def start(request):
    return redirect(start_url(request.user))


@login_required
def two_factor(request):
    """The second step of signing in: a code from the authenticator or a recovery code."""
    if request.user.is_verified():
        return redirect(_next(request))
    if not security.has_two_factor(request.user):
        return redirect_with_next(reverse("accounts:two-factor-setup"), request.GET.get("next"))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = security.two_factor_check(user=request.user, token=form.cleaned_data["code"])
        except security.SecurityRefused as error:
            form.add_error("code", error.message)
        else:
            otp_login(request, device)
            if device.__class__.__name__ == "StaticDevice":
                left = device.token_set.count()
                messages.warning(
                    request,
                    _("You used a recovery code; %(n)s left. Make new ones on “My security”.")
                    % {"n": left},
                )
            return redirect(_next(request))
    return render(
        request, "accounts/two_factor.html", {"form": form, "next": request.GET.get("next", "")}
    )


def _qr(device: TOTPDevice) -> str:
    return mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2))  # noqa: S308 - our own SVG


@login_required
def two_factor_setup(request):
    """Set up an authenticator app: scan the code, enter a code from the app. The recovery
    codes are shown once, right after."""
    device = None
    if pk := request.session.get(SETUP):
        device = TOTPDevice.objects.filter(pk=pk, user=request.user, confirmed=False).first()
    if device is None:
        # Replacing an enrolled authenticator needs this session verified first.
        if security.has_two_factor(request.user) and not request.user.is_verified():
            return redirect_with_next(reverse("accounts:two-factor"), request.get_full_path())
        device = security.totp_start(user=request.user)
        request.session[SETUP] = device.pk
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = security.totp_confirm(
                user=request.user, device=device, token=form.cleaned_data["code"]
            )
        except security.SecurityRefused as error:
            form.add_error("code", error.message)
        else:
            del request.session[SETUP]
            otp_login(request, device)
            request.session[TWO_FACTOR] = True
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next(request), "enrolled": True},
            )
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr": _qr(device),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": request.GET.get("next", ""),
            "required": request.session.get(TWO_FACTOR)
            or security.two_factor_required(request.user),
        },
    )


@login_required
def my_security(request):
    """One's own page: the second factor, the password, the sessions."""
    current = request.session.session_key
    sessions = UserSession.objects.filter(user=request.user)
    return render(
        request,
        "accounts/security.html",
        {
            "has_two_factor": security.has_two_factor(request.user),
            "required": security._role_requires(request.user),
            "codes_left": _codes_left(request.user),
            "sessions": sessions,
            "current": current,
            "remove_form": CodeForm(),
            "nav": "security",
        },
    )


def _codes_left(user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user).count()


@require_POST
@login_required
def recovery_codes(request):
    if not request.user.is_verified():
        return redirect_with_next(reverse("accounts:two-factor"), reverse("accounts:security"))
    try:
        codes = security.recovery_codes_issue(user=request.user)
    except security.SecurityRefused as error:
        messages.error(request, error.message)
        return redirect("accounts:security")
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": reverse("accounts:security"), "enrolled": False},
    )


@require_POST
@login_required
def two_factor_remove(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            security.two_factor_remove(user=request.user, token=form.cleaned_data["code"])
        except security.SecurityRefused as error:
            messages.error(request, error.message)
        else:
            request.session[TWO_FACTOR] = False
            messages.success(request, _("Two-factor sign-in is off."))
    else:
        messages.error(request, _("Enter a code to confirm."))
    return redirect("accounts:security")


@require_POST
@login_required
def sessions_end_others(request):
    ended = security.sessions_end(
        user=request.user, by=request.user, keep=request.session.session_key, reason="by owner"
    )
    messages.success(request, _("Signed out everywhere else: %(n)s sessions ended.") % {"n": ended})
    return redirect("accounts:security")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; every other session of the user ends with the old one."""

    template_name = "accounts/password.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        events.emit("password_change", kind="password", user=user, by=user)
        security.sessions_end(
            user=user, by=user, keep=self.request.session.session_key, reason="password changed"
        )
        messages.success(self.request, _("Your password is changed."))
        return response

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "nav": "security"}
