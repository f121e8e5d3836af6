"""Reads the ORM builds once per process.

Building a query costs the ORM (filters resolved, joins set up, SQL compiled) as much as
running a small one, and more than once a request on the hot pages (the chessboard). A
``Statement`` builds its query once per database, for two stand-in values, finds where the
value goes among the parameters (where the two builds differ) and runs the same SQL for
other values, with the ORM's own converters on the rows. The query stays written once, in
the ORM; a query whose SQL would change with the value is refused when first built.
"""

from collections.abc import Callable

from django.db import connections, router
from django.db.models import QuerySet


class Statement:
    """``build(value)`` → a ``values_list`` query depending on ``value`` through plain
    parameters only; ``samples``: two values no caller asks for (they find the places);
    ``adapt(connection, value)``: the parameter a value becomes (the ORM's own adaptation,
    e.g. ``connection.ops.adapt_datefield_value``; the value itself by default)."""

    def __init__(
        self,
        build: Callable[[object], QuerySet],
        samples: tuple[object, object],
        adapt: Callable[[object, object], object] | None = None,
    ):
        self.build = build
        self.samples = samples
        self.adapt = adapt or (lambda connection, value: value)
        self._model = None  # known on the first run: the apps may still be loading now
        self._built: dict[str, tuple] = {}

    def _prepare(self, connection) -> tuple:
        found = self._built.get(connection.alias)
        if found is None:
            built = []
            for sample in self.samples:
                compiler = self.build(sample).query.get_compiler(connection=connection)
                sql, params = compiler.as_sql()
                built.append((sql, list(params), compiler))
            (sql, params, compiler), (other_sql, other_params, _other) = built
            places = [
                i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
            ]
            expected = [self.adapt(connection, sample) for sample in self.samples]
            if (
                other_sql != sql
                or not places
                or any((params[i], other_params[i]) != tuple(expected) for i in places)
            ):
                raise RuntimeError(f"{self.build}: the value is not a plain parameter")
            columns = [column for column, _sql, _alias in compiler.select]
            converters = list(compiler.get_converters(columns).items())
            found = self._built[connection.alias] = (sql, params, places, converters)
        return found

    def rows(self, value) -> list[tuple]:
        """The rows of ``build(value)``, as its ``values_list`` gives them."""
        if self._model is None:
            self._model = self.build(self.samples[0]).model
        connection = connections[router.db_for_read(self._model)]
        sql, params, places, converters = self._prepare(connection)
        params = list(params)
        for i in places:
            params[i] = self.adapt(connection, value)
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
