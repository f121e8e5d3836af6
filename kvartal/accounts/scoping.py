"""Row scoping, written once: whose rows a user sees, and ``for_user`` on every scoped queryset.

Every scoped model (clients, leads, tasks, visits, holds, the queue, deals, payments …) has a
queryset deriving from ``ScopedQuerySet`` that names the path to the responsible user
(``owner_field``), and every lookup of such a row — pages, the admin, imports, jobs, the API,
the call centre, the agency cabinet — goes through ``Model.objects.for_user(user)``.

Who sees what:

- with ``rows.all`` (director, administrator, cashier …): every row;
- a sales head: their own rows, their teams' members' rows, and rows nobody is responsible
  for yet (a lead from the site, a client from the reception desk), which they hand out;
- an agency partner (agent): the rows of their agency only — the clients it fixed, the holds
  requested and the deals made through it (``agency_field``), never a developer's own row;
  an agent the agencies app does not link to an agency sees nothing;
- anyone else signed in: their own rows only;
- an anonymous or blocked user: nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import F, Q

from .models import Role
from .permissions import SEE_ALL, has_capability


@dataclass(frozen=True)
class RowScope:
    """Whose rows a user sees: ``everything``, or the rows of ``owners`` (user ids) and, with
    ``unassigned``, the rows with no responsible user."""

    everything: bool = False
    owners: frozenset[int] = frozenset()
    unassigned: bool = False
    agency: int | None = None  # an agent's agency: rows of that agency instead of owners

    def q(self, owner_field: str) -> Q:
        """The filter for rows whose responsible user is at ``owner_field``."""
        if self.everything:
            return Q()
        q = Q(**{f"{owner_field}__in": self.owners})
        if self.unassigned:
            q |= Q(**{f"{owner_field}__isnull": True})
        return q

    def sees_owner(self, owner_id: int | None) -> bool:
        """The same rule for one row already read (``owner_id``: its responsible user)."""
        if self.everything:
            return True
        if self.agency is not None:
            return False  # an agent's rows are chosen by agency, never by owner
        if owner_id is None:
            return self.unassigned
        return owner_id in self.owners

    def people(self, users):
        """``users`` (a user queryset) narrowed to those whose rows this scope sees: whom one
        may give work to or act for."""
        return users if self.everything else users.filter(pk__in=self.owners)

    @property
    def own_only(self) -> bool:
        """Sees one person's rows at most (a manager, a head without a team)."""
        return not self.everything and len(self.owners) <= 1


NOTHING = RowScope(owners=frozenset())

# The agency an agent works for (its id or ``None``). The agencies app owns the link between
# users and agencies and sets this from its ``AppConfig.ready()``; accounts imports no higher app.
agency_of: Callable[[object], int | None] = lambda user: None  # noqa: E731


def row_scope(user) -> RowScope:
    """The scope of ``user`` (see the module's docstring); a sales head's costs one query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if has_capability(user, SEE_ALL):
        return RowScope(everything=True)
    if user.role == Role.AGENCY_PARTNER:
        agency = agency_of(user)
        return NOTHING if agency is None else RowScope(agency=agency)
    if user.role == Role.SALES_HEAD:
        from .models import User

        members = User.objects.filter(team__head=user).values_list("pk", flat=True)
        return RowScope(owners=frozenset({user.pk, *members}), unassigned=True)
    return RowScope(owners=frozenset({user.pk}))


class ScopedQuerySet(models.QuerySet):
    """A queryset with ``for_user``. Subclasses set ``owner_field``: the path from the model
    to the user responsible for the row (``"manager"``, ``"deal__manager"`` …)."""

    owner_field: str = "manager"
    # The path to the agency a row belongs to (``"agency"``, ``"deal__agency"`` …); ``None``:
    # no agent sees any row of this model.
    agency_field: str | None = None

    def owner(self):
        """Each row's responsible user's id as an expression (``owner_field``'s; a subclass
        whose rows are owned along several paths overrides it and ``for_user``)."""
        return F(f"{self.owner_field}_id")

    def for_user(self, user):
        """The rows ``user`` may see (see ``row_scope``)."""
        return self.for_scope(row_scope(user))

    def for_scope(self, scope: RowScope):
        """The rows a user of ``scope`` sees: ``for_user`` with the scope already known (a
        subclass narrowing the rule overrides this one)."""
        if scope.everything:
            return self.all()
        if scope.agency is not None:
            if self.agency_field is None:
                return self.none()
            # a sub-select, so a path through a many-valued relation repeats no row
            mine = self.model._base_manager.filter(**{self.agency_field: scope.agency})
            return self.filter(pk__in=mine.values("pk"))
        return self.filter(scope.q(f"{self.owner_field}_id"))
