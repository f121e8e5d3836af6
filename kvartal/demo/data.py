"""What the demo draws from: the calendar, sizes, cities, names, layouts and prices."""

import calendar
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from kvartal.accounts.models import Role
from kvartal.inventory.models import UnitKind

# The data set's "today": history ends at the start of the day it is loaded, so that the
# holds still open at the end are open now. Same seed, same day → the same data.
END = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
MONTHS = 18  # the current month is the last, partial one
_first = END.year * 12 + END.month - 1 - (MONTHS - 1)
START = datetime(_first // 12, _first % 12 + 1, 1, tzinfo=UTC)  # month start, MONTHS back
CHUNK = 1000  # ids per status call

COMPANY = "ГК «Уральский квартал»"
DEMO_PASSWORD = "kvartal"
DEMO_USERS = [  # login, role, first name, last name
    ("admin", Role.ADMIN, "Дмитрий", "Орлов"),
    ("director", Role.DIRECTOR, "Ирина", "Волкова"),
    ("head", Role.SALES_HEAD, "Сергей", "Кузнецов"),
    ("manager", Role.SALES_MANAGER, "Анна", "Морозова"),
    ("manager2", Role.SALES_MANAGER, "Павел", "Никитин"),
    ("keeper", Role.INVENTORY_KEEPER, "Ольга", "Лебедева"),
    ("cashier", Role.CASHIER, "Людмила", "Соколова"),
    ("operator", Role.OPERATOR, "Мария", "Зайцева"),
    ("marketer", Role.MARKETER, "Елена", "Смирнова"),
    ("accountant", Role.ACCOUNTANT, "Татьяна", "Ковалёва"),
    ("agent", Role.AGENCY_PARTNER, "Игорь", "Белов"),
]
TEAM = "Отдел продаж"


@dataclass(frozen=True)
class Size:
    code: str
    units: int  # target; generation stops at the first building that reaches it
    buildings_per_project: tuple[int, int]
    sections: tuple[int, int]
    floors: tuple[int, ...]
    risers: tuple[int, int]
    flagship: tuple[int, int, int] | None = None  # sections, floors, risers
    storage: tuple[int, int] = (10, 30)
    spaces_per_unit: tuple[float, float] = (0.2, 0.35)
    parking_every: int = 2  # one parking structure per this many residential buildings


FLOORS = (9, 10, 12, 14, 16, 17, 18, 19, 20, 22, 24, 25)
SIZES = {
    "XS": Size(
        "XS", 100, (2, 2), (1, 1), (5, 6), (4, 4), storage=(3, 4), spaces_per_unit=(0.5, 0.5)
    ),
    "S": Size("S", 2_000, (1, 3), (1, 3), FLOORS, (4, 10), flagship=(2, 25, 10)),
    "M": Size("M", 20_000, (2, 5), (1, 4), FLOORS, (4, 10), flagship=(4, 25, 10)),
    "L": Size("L", 120_000, (4, 8), (2, 5), FLOORS, (5, 10), flagship=(4, 25, 10), parking_every=3),
}

# City: region code (cadastral numbers), price per m² of the comfort class, districts, streets.
CITIES = {
    city: (region, price, districts.split(", "), streets.split(", "))
    for city, region, price, districts, streets in [
        (
            "Екатеринбург", "66", 155_000,
            "Академический, Верх-Исетский, Ленинский, Кировский, Чкаловский",
            "ул. Радищева, ул. Шейнкмана, ул. Малышева, ул. Белинского, ул. Щербакова, "
            "ул. Академика Сахарова, ул. Таганская, ул. Репина, ул. Ясная, ул. Мира",
        ),
        (
            "Тюмень", "72", 135_000,
            "Калининский, Центральный, Восточный, Ленинский",
            "ул. Республики, ул. Мельникайте, ул. Широтная, ул. Пермякова, ул. Федюнинского",
        ),
        (
            "Челябинск", "74", 105_000,
            "Центральный, Калининский, Курчатовский, Советский",
            "ул. Труда, пр. Победы, ул. Кирова, ул. Братьев Кашириных, Свердловский пр.",
        ),
        (
            "Пермь", "59", 125_000,
            "Ленинский, Свердловский, Мотовилихинский, Дзержинский",
            "ул. Ленина, ул. Революции, ул. Куйбышева, ул. Уинская, ул. Плеханова",
        ),
        (
            "Уфа", "02", 130_000,
            "Кировский, Октябрьский, Советский",
            "ул. Ленина, пр. Октября, ул. Менделеева, ул. Бакалинская, ул. Рихарда Зорге",
        ),
        (
            "Курган", "45", 80_000,
            "Центральный, Заозёрный",
            "ул. Гоголя, ул. Куйбышева, ул. Томина, ул. Бурова-Петрова",
        ),
    ]
}  # fmt: skip
CITY_WEIGHTS = {"Екатеринбург": 5, "Тюмень": 3, "Челябинск": 3, "Пермь": 2, "Уфа": 2, "Курган": 1}
COMPLEXES = [
    "Северная звезда", "Малахит", "Уральские зори", "Каменный цветок", "Светлый",
    "Изумрудный бор", "Исеть Парк", "Яшма", "Самоцветы", "Лесная сказка", "Солнечный квартал",
    "Белая башня", "Бажовский", "Парковый квартал", "Речной бульвар", "Золотая горка", "Высота",
    "Кварц", "Гранит", "Академический квартал", "Татищев", "Демидов", "Аметист", "Хрустальный",
    "Сапфир", "Шарташский", "Ботанический сад", "Зелёная роща", "Тихий берег", "Северный парк",
    "Новая Тура", "Серебряный ключ", "Чусовская набережная", "Ильменский", "Сказы Урала", "Небо",
    "Городские истории", "Панорама", "Южный парк", "Орбита",
]  # fmt: skip
MORE_COMPLEXES = [  # for the sizes with more complexes than the list above
    "Кольцовский дворик", "Мичуринский", "Уктусские холмы", "Истоки", "Рассветный",
    "Притяжение", "Ясный берег", "Мельница", "Сосновый бор", "Пихтовый", "Железный квартал",
    "Архитектор", "Первый Тюменский", "Заречный", "Тайга", "Кедровый", "Свет озера", "Сириус",
    "Горный ручей", "Ермак", "Уральская слобода", "Бирюза", "Ладога", "Чистое небо",
]  # fmt: skip
# Class of a complex: share of the city price, name.
CLASSES = [(Decimal("0.88"), "стандарт"), (Decimal("1.00"), "комфорт"), (Decimal("1.30"), "бизнес")]
AREAS = {0: (21, 29), 1: (32, 44), 2: (48, 66), 3: (68, 92), 4: (95, 128)}  # by rooms, m²
KITCHENS = {1: (8, 11), 2: (9, 14), 3: (10, 18), 4: (12, 20)}  # a studio has a kitchen niche
# The price list at launch: a percentage by rooms and by view on top of the floor step.
ROOMS_PERCENT = {0: 10, 1: 5, 2: 0, 3: -3, 4: -6}
VIEW_PERCENT = {"yard": 0, "street": -2, "park": 4, "water": 7, "city": 5}
# How eagerly each kind of unit sells (apartments by rooms), relative to a two-room flat.
DEMAND = {UnitKind.COMMERCIAL: 0.35, UnitKind.STORAGE: 0.45, UnitKind.PARKING: 0.6}
ROOMS_DEMAND = {0: 1.4, 1: 1.3, 2: 1.0, 3: 0.8, 4: 0.6}
SEASON = [1.0, 1.05, 0.95, 0.85, 0.85, 0.95, 1.05, 1.1, 1.1, 1.15, 1.3, 0.7]  # May … April
SALE_HOURS = (7, 9, 12, 14)  # UTC: 10, 12, 15, 17 o'clock in Moscow
STANDARD_SPACE = (Decimal("5.30"), Decimal("2.50"))
WIDE_SPACE = (Decimal("6.20"), Decimal("3.60"))


def month_start(m: int) -> datetime:
    """The first day of the m-th month after START (negative: before it)."""
    year, month = divmod(START.month - 1 + m, 12)
    return START.replace(year=START.year + year, month=month + 1)


def quarter_end(moment: datetime) -> date:
    month = (moment.month - 1) // 3 * 3 + 3
    return date(moment.year, month, calendar.monthrange(moment.year, month)[1])


def area(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(rng.randint(int(low * 10), int(high * 10))) / 10
