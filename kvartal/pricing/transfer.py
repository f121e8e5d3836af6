"""Import and export of inventory and prices (.xlsx and CSV, UTF-8 or Windows-1251).

Two shapes, each keyed by the unit's code in its building (``section.floor.position``, as
the generator writes it): *inventory* (sections, floors and units with their data) and
*prices*. An import is checked first (a dry run: per row what would be created or changed,
and every error with its row and column); nothing is written unless every row is valid, or
the user applies the valid rows explicitly. Writing goes through the services: units'
data through ``inventory.services.units_import`` (history rows as ``unit_create`` /
``unit_update`` write them), prices as a batch awaiting approval (``services.batch_propose``),
applied by ``inventory.services.units_set_prices``. Importing the same file twice changes
nothing the second time.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.inventory.models import (
    PRICE_LOCKED_STATUSES,
    Building,
    Finishing,
    Floor,
    Project,
    Unit,
    UnitKind,
    UnitStatus,
    WindowView,
    unit_code,
)

INVENTORY, PRICES = "inventory", "prices"


def max_bytes() -> int:
    """The largest file an import takes (env ``KVARTAL_IMPORT_MAX_MB``, default 20 MB)."""
    return int(getattr(settings, "KVARTAL_IMPORT_MAX_BYTES", 20 * 1024 * 1024))


PROGRESS_EVERY = 1000


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, size, encoding, header)."""


@dataclass(frozen=True)
class Col:
    key: str
    label: object
    kind: str = "text"  # text | int | decimal | bool | choice
    required: bool = False
    choices: tuple = ()


KIND_CHOICES = tuple(UnitKind.values)
INVENTORY_COLUMNS = [
    Col("project", gettext_lazy("Project"), required=True),
    Col("building", gettext_lazy("Building"), required=True),
    Col("section", gettext_lazy("Section"), "int", True),
    Col("floor", gettext_lazy("Floor"), "int", True),
    Col("position", gettext_lazy("Position"), "int", True),
    Col("kind", gettext_lazy("Kind"), "choice", choices=KIND_CHOICES),
    Col("number", gettext_lazy("Number"), required=True),
    Col("rooms", gettext_lazy("Rooms"), "int"),
    Col("total_area", gettext_lazy("Total area, m²"), "decimal", True),
    Col("living_area", gettext_lazy("Living area, m²"), "decimal"),
    Col("kitchen_area", gettext_lazy("Kitchen area, m²"), "decimal"),
    Col("ceiling_height", gettext_lazy("Ceiling height, m"), "decimal"),
    Col("finishing", gettext_lazy("Finishing"), "choice", choices=tuple(Finishing.values)),
    Col("view", gettext_lazy("Window view"), "choice", choices=("", *WindowView.values)),
    Col("has_balcony", gettext_lazy("Balcony"), "bool"),
    Col("special_conditions", gettext_lazy("Special conditions")),
    Col("building_address", gettext_lazy("Building's construction address")),
]
PRICE_COLUMNS = [
    Col("project", gettext_lazy("Project"), required=True),
    Col("building", gettext_lazy("Building"), required=True),
    Col("code", gettext_lazy("Code"), required=True),
    Col("kind", gettext_lazy("Kind"), "choice", choices=KIND_CHOICES),
    Col("price", gettext_lazy("Price, ₽"), "decimal", True),
]
COLUMNS = {INVENTORY: INVENTORY_COLUMNS, PRICES: PRICE_COLUMNS}
# The data fields an inventory row sets on a unit (the rest place it).
DATA_FIELDS = [
    "kind",
    "number",
    "position",
    "rooms",
    "total_area",
    "living_area",
    "kitchen_area",
    "ceiling_height",
    "finishing",
    "view",
    "has_balcony",
    "special_conditions",
]
TRUE = {"1", "yes", "true", "да", "y", "д", "+"}
FALSE = {"0", "no", "false", "нет", "n", "н", "-", ""}


# --- reading ----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file is neither UTF-8 nor Windows-1251 text."))


def read_table(stream, filename: str) -> Iterator[list]:
    """The rows of the first sheet (.xlsx) or of a CSV file, as lists of cell values; the
    first is the header. Raises ``ImportFileError`` for another format or a broken file."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a broken file
            raise ImportFileError(_("This is not a readable .xlsx workbook.")) from error
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
        book.close()
        return
    if name.endswith((".csv", ".txt")):
        text = _decode(stream.read())
        first = text.split("\n", 1)[0]
        delimiter = max(";,\t", key=first.count)
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return
    raise ImportFileError(_("Upload an .xlsx workbook or a .csv file."))


def _header(row: list, columns: list[Col]) -> dict[str, int]:
    """Column key → index, from a header of keys or of the labels (either language)."""
    names = {}
    for col in columns:
        names[col.key.lower()] = col.key
        names[str(col.label).lower()] = col.key
    index, unknown = {}, []
    for i, cell in enumerate(row):
        text = str(cell or "").strip().lower()
        if not text:
            continue
        if text in names:
            index[names[text]] = i
        elif text != "code":  # the inventory export's code column is for reading only
            unknown.append(str(cell))
    missing = [c.key for c in columns if c.required and c.key not in index]
    if missing:
        raise ImportFileError(
            _("The header lacks the columns: %(columns)s (download the template).")
            % {"columns": ", ".join(missing)}
        )
    return index


# --- cells ------------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into a text cell: 12 → "12", not "12.0"
    return str(value).strip()


def _cell(col: Col, value):
    """A cell's value for its column, or raises ``ValueError`` with the message."""
    text = _text(value)
    if not text:
        if col.required:
            raise ValueError(_("Required."))
        return None
    if col.kind == "text":
        return text
    if col.kind in ("int", "decimal"):
        if isinstance(value, bool):
            raise ValueError(_("“%(value)s” is not a number.") % {"value": text})
        raw = text.replace("\xa0", "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise ValueError(_("“%(value)s” is not a number.") % {"value": text}) from None
        if not number.is_finite():
            raise ValueError(_("“%(value)s” is not a number.") % {"value": text})
        if col.kind == "int":
            if number != number.to_integral_value():
                raise ValueError(_("“%(value)s” is not a whole number.") % {"value": text})
            return int(number)
        if number.as_tuple().exponent < -2 or abs(number) >= 10**12:
            raise ValueError(_("“%(value)s”: at most two decimals.") % {"value": text})
        return number
    if col.kind == "bool":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ValueError(_("Write yes or no."))
    if text not in col.choices:
        raise ValueError(
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": text, "choices": ", ".join(c for c in col.choices if c)}
        )
    return text


# --- checking ---------------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int
    action: str  # create | change | same | skip | error
    key: str = ""
    detail: str = ""
    errors: list = field(default_factory=list)  # [(column, message)]
    values: dict = field(default_factory=dict)
    unit_id: int | None = None


@dataclass
class NewBuilding:
    """A building an inventory file names that does not exist yet: created on apply (through
    ``inventory.services.building_save``, the pages' rules) with the address its rows give,
    else its project's."""

    project: Project
    name: str
    address: str = ""
    rows: list[int] = field(default_factory=list)


@dataclass
class Check:
    kind: str
    rows: list[RowResult] = field(default_factory=list)
    # (project id, building name lower) → the building to create
    new_buildings: dict[tuple, NewBuilding] = field(default_factory=dict)
    # building key (id, or the key of a new one) → {(section, floor)} that exist already
    places: dict = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        return [(r.row, c, m) for r in self.rows for c, m in r.errors]

    @property
    def valid(self) -> list[RowResult]:
        return [r for r in self.rows if r.action != "error"]

    def structure(self) -> dict:
        """What applying the valid rows would create besides units: buildings, sections and
        floors (a new building's all of them)."""
        sections, floors = set(), set()
        buildings = set()
        for r in self.valid:
            v = r.values
            if r.action not in ("create", "change") or "_building" not in v:
                continue
            key = v["_building"]
            if key in self.new_buildings:
                buildings.add(key)
            existing = self.places.get(key, set())
            if (v["section"], v["floor"]) not in existing:
                floors.add((key, v["section"], v["floor"]))
                if not any(s == v["section"] for s, _f in existing):
                    sections.add((key, v["section"]))
        return {
            "buildings": len(buildings),
            "sections": len(sections),
            "floors": len(floors),
            "new_buildings": sorted(
                f"{self.new_buildings[k].project.name}, {self.new_buildings[k].name}"
                for k in buildings
            )[:50],
        }

    def summary(self) -> dict:
        counts = {a: self.count(a) for a in ("create", "change", "same", "skip", "error")}
        counts["rows"] = len(self.rows)
        if self.kind == INVENTORY:
            counts |= self.structure()
        return counts


def _buildings() -> dict[tuple[str, str], Building]:
    return {
        (b.project.name.lower(), b.name.lower()): b
        for b in Building.objects.select_related("project")
    }


def _new_building(r: RowResult, result: "Check", projects: dict) -> tuple | None:
    """An inventory row naming a building that does not exist: the key of the building to
    create in its project (noted in ``result.new_buildings``), or ``None`` with the error on
    the row when the project is unknown too (projects are created on their page)."""
    v = r.values
    project = projects.get(v["project"].lower())
    if project is None:
        r.errors.append(
            (
                "project",
                _("Unknown project “%(project)s”: create the project first.")
                % {"project": v["project"]},
            )
        )
        return None
    key = (project.pk, v["building"].lower())
    new = result.new_buildings.get(key)
    if new is None:
        new = result.new_buildings[key] = NewBuilding(project=project, name=v["building"])
        result.places[key] = set()
    if not new.address and v.get("building_address"):
        new.address = v["building_address"]
    new.rows.append(r.row)
    return key


def check(stream, filename: str, kind: str, progress=None) -> Check:
    """The dry run: every row's action and errors. ``progress(done, total)`` is called every
    ``PROGRESS_EVERY`` rows. Reads the file once; a constant number of queries per building
    named. Raises ``ImportFileError`` when the file as a whole is unreadable."""
    columns = COLUMNS[kind]
    table = read_table(stream, filename)
    try:
        head = next(table)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    index = _header(head, columns)
    buildings = _buildings()
    projects = {p.name.lower(): p for p in Project.objects.all()} if kind == INVENTORY else {}
    units_of: dict[int, dict] = {}
    result = Check(kind)
    seen: dict[tuple, int] = {}
    numbers: dict[tuple, int] = {}
    for number, raw in enumerate(table, start=2):
        if not any(_text(v) for v in raw):
            continue
        r = RowResult(row=number, action="error")
        result.rows.append(r)
        for col in columns:
            i = index.get(col.key)
            try:
                r.values[col.key] = _cell(col, raw[i] if i is not None and i < len(raw) else None)
            except ValueError as error:
                r.errors.append((col.key, str(error)))
        building = None
        if r.values.get("project") and r.values.get("building"):
            building = buildings.get((r.values["project"].lower(), r.values["building"].lower()))
            if building is None and kind == INVENTORY:
                building = _new_building(r, result, projects)
                if building is not None:
                    units_of.setdefault(building, {})
            elif building is None:
                r.errors.append(
                    (
                        "building",
                        _("Unknown building “%(building)s” in project “%(project)s”.")
                        % {"building": r.values["building"], "project": r.values["project"]},
                    )
                )
        if isinstance(building, Building) and building.pk not in units_of:
            units_of[building.pk] = known = {}
            for u in Unit.objects.filter(building=building):
                known[u.kind, u.code] = u
                known["#", u.kind, u.number] = u  # numbers are unique per building and kind
            if kind == INVENTORY:
                result.places[building.pk] = set(
                    Floor.objects.filter(section__building=building).values_list(
                        "section__number", "index"
                    )
                )
        if kind == INVENTORY:
            _check_inventory(r, building, units_of, seen, numbers)
        else:
            _check_price(r, building, units_of, seen)
        if r.errors:
            r.action = "error"
        if progress and number % PROGRESS_EVERY == 0:
            progress(number - 1)
    for new in result.new_buildings.values():
        new.address = new.address or new.project.address
        if not new.address:
            for r in result.rows:
                if r.row in new.rows:
                    r.action = "error"
                    r.errors.append(
                        (
                            "building_address",
                            _(
                                "The new building “%(building)s” needs its construction "
                                "address: give it in this column (the project has none)."
                            )
                            % {"building": new.name},
                        )
                    )
    return result


def _check_inventory(r: RowResult, building, units_of, seen, numbers) -> None:
    v = r.values
    v["kind"] = v.get("kind") or UnitKind.APARTMENT
    for name in ("total_area", "living_area", "kitchen_area", "ceiling_height"):
        if v.get(name) is not None and v[name] <= 0:
            r.errors.append((name, _("Must be greater than zero.")))
    if v.get("position") is not None and v["position"] < 1:
        r.errors.append(("position", _("Positions are counted from 1.")))
    if v.get("section") is not None and v["section"] < 1:
        r.errors.append(("section", _("The section number starts at 1.")))
    total = v.get("total_area")
    for name in ("living_area", "kitchen_area"):
        if total and v.get(name) and v[name] > total:
            r.errors.append((name, _("Cannot exceed the total area.")))
    if v.get("rooms") is not None and not 0 <= v["rooms"] <= 20:
        r.errors.append(("rooms", _("From 0 to 20.")))
    if None in (v.get("section"), v.get("floor"), v.get("position")) or building is None:
        return
    new = not isinstance(building, Building)
    bkey = building if new else building.pk
    v["_building"] = bkey
    code = unit_code(kind=v["kind"], section=v["section"], floor=v["floor"], position=v["position"])
    r.key = f"{v['building'] if new else building.name} {code}"
    key = (bkey, v["kind"], code)
    if key in seen:
        r.errors.append(
            (
                "position",
                _("Code %(code)s is already in row %(row)s.") % {"code": code, "row": seen[key]},
            )
        )
    seen.setdefault(key, r.row)
    if v.get("number"):
        nkey = (bkey, v["kind"], v["number"])
        if nkey in numbers:
            r.errors.append(
                (
                    "number",
                    _("Number %(number)s is already in row %(row)s.")
                    % {"number": v["number"], "row": numbers[nkey]},
                )
            )
        numbers.setdefault(nkey, r.row)
    existing = units_of[bkey].get((v["kind"], code))
    other = units_of[bkey].get(("#", v["kind"], v.get("number")))
    if other is not None and (existing is None or other.pk != existing.pk):
        r.errors.append(
            (
                "number",
                _("Number %(number)s is already used in this building.") % {"number": v["number"]},
            )
        )
    if r.errors:
        return
    if existing is None:
        r.action = "create"
        if new:
            r.detail = _("in a new building")
        return
    r.unit_id = existing.pk
    diff = [name for name in DATA_FIELDS if _differs(getattr(existing, name), v.get(name), name)]
    r.action = "change" if diff else "same"
    r.detail = ", ".join(diff)
    r.values["_diff"] = diff


def _differs(current, new, name) -> bool:
    if name in ("finishing",):
        new = new or Finishing.NONE
    if name in ("view", "special_conditions"):
        current, new = current or "", new or ""
    if name == "has_balcony":
        new = bool(new)
    return current != new


def _check_price(r: RowResult, building, units_of, seen) -> None:
    v = r.values
    v["kind"] = v.get("kind") or UnitKind.APARTMENT
    if v.get("price") is not None and v["price"] <= 0:
        r.errors.append(("price", _("A price must be greater than zero.")))
    if building is None or not v.get("code"):
        return
    r.key = f"{building.name} {v['code']}"
    key = (building.pk, v["kind"], v["code"])
    if key in seen:
        r.errors.append(
            (
                "code",
                _("Code %(code)s is already in row %(row)s.")
                % {"code": v["code"], "row": seen[key]},
            )
        )
    seen.setdefault(key, r.row)
    unit = units_of[building.pk].get((v["kind"], v["code"]))
    if unit is None:
        r.errors.append(
            ("code", _("No unit with code %(code)s in this building.") % {"code": v["code"]})
        )
    if r.errors:
        return
    r.unit_id = unit.pk
    current = unit.pending_price if unit.pending_price is not None else unit.price
    v["old_price"] = current
    if unit.status in PRICE_LOCKED_STATUSES and unit.status != UnitStatus.RESERVED:
        r.action, r.detail = "skip", _("in a deal or sold: it keeps the price it was taken at")
    elif current == v["price"]:
        r.action = "same"
    else:
        r.action = "change"
        r.detail = f"{current:.0f} → {v['price']:.0f}"


# --- applying ---------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The file has errors and the user did not choose to apply only the valid rows."""


def apply(result: Check, *, by, valid_only: bool, at=None) -> dict:
    """Write a checked file: all rows, or with ``valid_only`` the valid ones. Inventory goes
    through ``units_import`` in one transaction; prices become one batch awaiting approval.
    Raises ``ImportRefused`` when there are errors and not ``valid_only`` (nothing written)."""
    from django.db import transaction

    if result.errors and not valid_only:
        raise ImportRefused(
            _("The file has %(n)s errors: correct them, or apply only the valid rows.")
            % {"n": len(result.errors)}
        )
    rows = [r for r in result.valid if r.action in ("create", "change")]
    with transaction.atomic():
        if result.kind == INVENTORY:
            return _apply_inventory(rows, result, by=by, at=at)
        return _apply_prices(rows, by=by, at=at)


def _apply_inventory(rows: list[RowResult], result: Check, *, by, at) -> dict:
    from kvartal.inventory.services import building_save, places_ensure, units_import

    buildings = _buildings()
    created_buildings = {}
    create, update = [], {}
    by_building: dict = {}
    for r in rows:
        v = r.values
        building = buildings.get((v["project"].lower(), v["building"].lower()))
        if building is None:  # named by the file: created with the pages' rules
            key = v["_building"]
            if key not in created_buildings:
                new = result.new_buildings[key]
                created_buildings[key] = building_save(
                    building=Building(
                        project=new.project, name=new.name, construction_address=new.address
                    ),
                    by=by,
                )
            building = created_buildings[key]
        by_building.setdefault(building.pk, (building, []))[1].append(r)
    for building, members in by_building.values():
        floors = places_ensure(
            building=building, places={(r.values["section"], r.values["floor"]) for r in members}
        )
        for r in members:
            v = r.values
            data = {name: v.get(name) for name in DATA_FIELDS}
            data["finishing"] = data["finishing"] or Finishing.NONE
            data["view"] = data["view"] or ""
            data["special_conditions"] = data["special_conditions"] or ""
            data["has_balcony"] = bool(data["has_balcony"])
            if data["kind"] != UnitKind.APARTMENT:
                data["rooms"] = None
            if r.action == "create":
                floor = floors[v["section"], v["floor"]]
                create.append(Unit(building=building, section=floor.section, floor=floor, **data))
            else:
                update[r.unit_id] = {k: val for k, val in data.items() if k in r.detail.split(", ")}
    created, changed = units_import(create=create, update=update, by=by, reason=_("Import"), at=at)
    return {"created": created, "changed": changed, "buildings": len(created_buildings)}


def _apply_prices(rows: list[RowResult], *, by, at) -> dict:
    from . import services
    from .models import BatchSource

    units = Unit.objects.in_bulk([r.unit_id for r in rows])
    lines = [
        services.Line(
            unit=units[r.unit_id], old_price=r.values["old_price"], new_price=r.values["price"]
        )
        for r in rows
    ]
    if not lines:
        return {"batch": None, "changed": 0}
    batch = services.batch_propose(
        title=_("Import of prices"), source=BatchSource.IMPORT, lines=lines, by=by, at=at
    )
    return {"batch": batch.pk, "changed": len(lines)}


# --- templates and exports ----------------------------------------------------------------


def header(kind: str) -> list[str]:
    return [c.key for c in COLUMNS[kind]]


def inventory_rows(units) -> Iterator[list]:
    for u in units.select_related("building__project", "section", "floor").order_by(
        "building_id", "section__number", "floor__index", "position", "kind"
    ):
        yield [
            u.building.project.name,
            u.building.name,
            u.section.number,
            u.floor.index,
            u.position,
            u.kind,
            u.number,
            u.rooms,
            u.total_area,
            u.living_area,
            u.kitchen_area,
            u.ceiling_height,
            u.finishing,
            u.view,
            "yes" if u.has_balcony else "no",
            u.special_conditions,
            u.building.construction_address,
        ]


def price_rows(units) -> Iterator[list]:
    for u in units.select_related("building__project").order_by("building_id", "code"):
        yield [u.building.project.name, u.building.name, u.code, u.kind, u.price]


def write_csv(kind: str, rows, *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header(kind))
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding, errors="replace")


def write_xlsx(kind: str, rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("Prices") if kind == PRICES else _("Inventory")))
    sheet.append(header(kind))
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    notes = book.create_sheet(str(_("Columns")))
    bold = Font(bold=True)
    from openpyxl.cell import WriteOnlyCell

    title = WriteOnlyCell(notes, value=str(_("Column")))
    title.font = bold
    notes.append([title, str(_("Meaning")), str(_("Required")), str(_("Values"))])
    for col in COLUMNS[kind]:
        notes.append(
            [
                col.key,
                str(col.label),
                str(_("yes")) if col.required else "",
                ", ".join(c for c in col.choices if c),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_rows(kind: str) -> list[list]:
    if kind == PRICES:
        return [["ЖК Пример", "Корпус 1", "1.2.3", "apartment", 7500000]]
    return [
        ["ЖК Пример", "Корпус 1", 1, 2, 3, "apartment", "7", 2, "56.2", "31", "10.5", "2.8",
         "none", "park", "yes", "", "г. Екатеринбург, ул. Примерная, 1"],
    ]  # fmt: skip


def price_sheet_xlsx(units) -> bytes:
    """The price list for agencies and banks: a branded title, then one row per unit on
    sale (numbers as numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from kvartal.core.branding import company_context

    company = company_context()
    book = Workbook()
    sheet = book.active
    sheet.title = str(_("Price list"))
    colour = company["colour"].lstrip("#")
    colour = colour if len(colour) == 6 else "".join(c * 2 for c in colour)
    sheet.append([company["name"] or str(_("Price list"))])
    sheet["A1"].font = Font(bold=True, size=14, color=colour)
    sheet.append([" · ".join(p for p in (company["phone"], company["website"]) if p)])
    sheet.append([])
    head = [
        _("Project"),
        _("Building"),
        _("Code"),
        _("Number"),
        _("Rooms"),
        _("Floor"),
        _("Total area, m²"),
        _("Price, ₽"),
        _("Price per m², ₽"),
    ]
    sheet.append([str(h) for h in head])
    for cell in sheet[4]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=colour)
    for u in units:
        sheet.append(
            [
                u.building.project.name,
                u.building.name,
                u.code,
                u.number,
                u.rooms,
                u.floor.label,
                float(u.total_area),
                float(u.price),
                float(u.price_per_m2 or 0),
            ]
        )
    for letter, width in zip("ABCDEFGHI", (22, 16, 10, 8, 7, 7, 12, 14, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
