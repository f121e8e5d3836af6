from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    DIRECTOR = "director", _("Director")
    SALES_HEAD = "sales_head", _("Sales head")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    INVENTORY_KEEPER = "inventory_keeper", _("Inventory keeper")


class User(AbstractUser):
    """A person who signs in. What they may do follows from ``role`` (see permissions.py).

    Blocking a user is ``is_active = False``: they can no longer sign in, their history stays.
    """

    role = models.CharField(_("role"), max_length=32, choices=Role, default=Role.SALES_MANAGER)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def short_name(self) -> str:
        """'Иванова А.' — how people are shown in history rows and tables."""
        if self.last_name:
            initial = f" {self.first_name[:1]}." if self.first_name else ""
            return f"{self.last_name}{initial}"
        return self.username
