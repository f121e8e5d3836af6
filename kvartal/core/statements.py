"""Reads the ORM builds once per process.

Building a query costs the ORM (filters resolved, joins set up, SQL compiled) as much as
running a small one, and more than once a request on the hot pages (the chessboard). A
``Statement`` builds its query once per database, for two stand-in values, finds where the
value goes among the parameters (where the two builds differ) and runs the same SQL for
other values, with the ORM's own converters on the rows. The query stays written once, in
the ORM; a query whose SQL would change with the value is refused when first built. A query
of several values (``arity``) has each found by its own pair of stand-ins. ``objects`` makes
model instances of the rows, as the queryset would (related rows, annotations). An
``Update`` is the same for ``queryset.update(…)``.
"""

from collections.abc import Callable
from datetime import date, datetime

from django.db import connections, router, transaction
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import UpdateQuery


def adapt_as_the_orm(connection, value):
    """The parameter the ORM makes of a value: a moment or a date as the database keeps it
    (``connection.ops``), any other value as it is."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


class Statement:
    """``build(*values)`` → a ``values_list`` query (for ``objects``, a queryset of model
    rows) depending on its ``arity`` values through plain parameters only; ``samples``: two
    stand-ins no caller asks for (they find the places) — two values, or for several values
    two tuples whose every member differs from the other tuple's and from its own tuple's
    other members; ``adapt(connection, value)``: the parameter a value becomes (by default
    ``adapt_as_the_orm``)."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        samples: tuple[object, object],
        adapt: Callable[[object, object], object] | None = None,
        *,
        arity: int = 1,
    ):
        self.build = build
        self.arity = arity
        self.samples = samples if arity > 1 else tuple((sample,) for sample in samples)
        if len(self.samples) != 2 or any(len(sample) != arity for sample in self.samples):
            raise ValueError(f"{build}: two stand-ins of {arity} value(s) each")
        self.adapt = adapt or adapt_as_the_orm
        self._model = None  # known on the first run: the apps may still be loading now
        self._built: dict[str, tuple] = {}
        self._converters: dict[str, list] = {}

    def _prepare(self, connection) -> tuple:
        found = self._built.get(connection.alias)
        if found is None:
            built = []
            for sample in self.samples:
                compiler = self._compiler(sample, connection)
                sql, params = compiler.as_sql()
                built.append((sql, list(params), compiler))
            (sql, params, compiler), (other_sql, other_params, _other) = built
            if other_sql != sql or len(params) != len(other_params):
                raise RuntimeError(f"{self.build}: the values are not plain parameters")
            stand_ins = list(
                zip(
                    *([self.adapt(connection, v) for v in sample] for sample in self.samples),
                    strict=True,
                )
            )
            places = []  # (position among the parameters, which value goes there)
            for i, pair in enumerate(zip(params, other_params, strict=True)):
                if pair[0] == pair[1]:
                    continue
                which = [k for k, stand_in in enumerate(stand_ins) if stand_in == pair]
                if len(which) != 1:
                    raise RuntimeError(f"{self.build}: the values are not plain parameters")
                places.append((i, which[0]))
            if {k for _i, k in places} != set(range(self.arity)):
                raise RuntimeError(f"{self.build}: a value is not a parameter of the query")
            found = self._built[connection.alias] = (sql, params, places, compiler)
        return found

    def _compiler(self, sample, connection):
        return self.build(*sample).query.get_compiler(connection=connection)

    def _model_of(self, sample):
        return self.build(*sample).model

    def _sql(self, values, route) -> tuple:
        """The connection, the SQL with ``values`` in their places, and its compiler."""
        if len(values) != self.arity:
            raise TypeError(f"{self.build}: {self.arity} value(s), not {len(values)}")
        if self._model is None:
            self._model = self._model_of(self.samples[0])
        connection = connections[route(self._model)]
        sql, params, places, compiler = self._prepare(connection)
        params = list(params)
        for i, which in places:
            params[i] = self.adapt(connection, values[which])
        return connection, sql, params, compiler

    def rows(self, *values) -> list[tuple]:
        """The rows of ``build(*values)``, as its ``values_list`` gives them."""
        connection, sql, params, compiler = self._sql(values, router.db_for_read)
        converters = self._converters.get(connection.alias)
        if converters is None:
            columns = [column for column, _sql, _alias in compiler.select]
            converters = self._converters[connection.alias] = list(
                compiler.get_converters(columns).items()
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for position, (functions, expression) in converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
            converted.append(tuple(row))
        return converted

    def objects(self, *values) -> list:
        """The model instances of ``build(*values)`` (a queryset of model rows, with any
        ``select_related`` and annotations), made as the queryset makes them: ``from_db``
        with the columns it reads, the related rows in their caches, the annotations set."""
        rows = self.rows(*values)
        alias = router.db_for_read(self._model)
        compiler = self._built[alias][3]
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        names = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, alias)
        annotations = list(compiler.annotation_col_map.items())
        model = klass_info["model"]
        found = []
        for row in rows:
            instance = model.from_db(alias, names, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found


class Update(Statement):
    """``build(*values)`` → ``(queryset, fields)``: what ``queryset.update(**fields)`` would
    run, built once per database as a ``Statement`` is; ``run(*values)`` runs it and answers
    the rows it changed. For an update of one table (no parents, nothing to fetch first)."""

    def _compiler(self, sample, connection):
        queryset, fields = self.build(*sample)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(fields)
        if query.related_updates:
            raise RuntimeError(f"{self.build}: an update of more than one table")
        return query.get_compiler(connection=connection)

    def _model_of(self, sample):
        return self.build(*sample)[0].model

    def run(self, *values) -> int:
        connection, sql, params, _compiler = self._sql(values, router.db_for_write)
        with (
            transaction.mark_for_rollback_on_error(using=connection.alias),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
            return cursor.rowcount
