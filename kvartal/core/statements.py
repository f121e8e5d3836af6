"""Reads the ORM builds once per process.

Building a query costs the ORM (filters resolved, joins set up, SQL compiled) as much as
running a small one, and more than once a request on the hot pages (the chessboard). A
``Statement`` builds its query once per database, for two stand-in values, finds where the
value goes among the parameters (where the two builds differ) and runs the same SQL for
other values, with the ORM's own converters on the rows. The query stays written once, in
the ORM; a query whose SQL would change with the value is refused when first built. A query
of several values (``arity``) has each found by its own pair of stand-ins.
"""

from collections.abc import Callable

from django.db import connections, router
from django.db.models import QuerySet


class Statement:
    """``build(*values)`` → a ``values_list`` query depending on its ``arity`` values through
    plain parameters only; ``samples``: two stand-ins no caller asks for (they find the
    places) — two values, or for several values two tuples whose every member differs from
    the other tuple's and from its own tuple's other members; ``adapt(connection, value)``:
    the parameter a value becomes (the ORM's own adaptation, e.g.
    ``connection.ops.adapt_datefield_value``; the value itself by default)."""

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
        self.adapt = adapt or (lambda connection, value: value)
        self._model = None  # known on the first run: the apps may still be loading now
        self._built: dict[str, tuple] = {}

    def _prepare(self, connection) -> tuple:
        found = self._built.get(connection.alias)
        if found is None:
            built = []
            for sample in self.samples:
                compiler = self.build(*sample).query.get_compiler(connection=connection)
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
            columns = [column for column, _sql, _alias in compiler.select]
            converters = list(compiler.get_converters(columns).items())
            found = self._built[connection.alias] = (sql, params, places, converters)
        return found

    def rows(self, *values) -> list[tuple]:
        """The rows of ``build(*values)``, as its ``values_list`` gives them."""
        if len(values) != self.arity:
            raise TypeError(f"{self.build}: {self.arity} value(s), not {len(values)}")
        if self._model is None:
            self._model = self.build(*self.samples[0]).model
        connection = connections[router.db_for_read(self._model)]
        sql, params, places, converters = self._prepare(connection)
        params = list(params)
        for i, which in places:
            params[i] = self.adapt(connection, values[which])
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
