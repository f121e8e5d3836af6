"""Clients (people and companies), agencies.

The clients issue extends this module (contacts, consent, leads, visits, tasks, needs); the
sales app refers to ``Client`` and ``Agency`` only.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ClientKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class ClientQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Row scoping: a manager's own clients, a sales head's team's, everyone's for those
        with ``rows.all``."""
        from kvartal.accounts.permissions import visible_managers

        managers = visible_managers(user)
        return self if managers is None else self.filter(manager_id__in=managers)


class Client(models.Model):
    """A buyer or prospect: a person, or a company with its contact people."""

    kind = models.CharField(_("kind"), max_length=16, choices=ClientKind, default=ClientKind.PERSON)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="clients",
        verbose_name=_("manager"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = ClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["last_name", "first_name", "company_name", "pk"]
        indexes = [models.Index(fields=["last_name"], name="client_last_name")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == ClientKind.COMPANY:
            return self.company_name or _("Company #%(pk)s") % {"pk": self.pk}
        parts = [self.last_name, self.first_name, self.middle_name]
        return " ".join(p for p in parts if p) or _("Client #%(pk)s") % {"pk": self.pk}


class Agency(models.Model):
    """A real-estate agency that brings buyers for a fee."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    fee_percent = models.DecimalField(
        _("fee, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
