"""Buyers for the demo: Russian names, phones and e-mails, drawn from a seeded generator; the
passports of those who buy (``papers``)."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

MALE_FIRST = [
    "Александр",
    "Алексей",
    "Андрей",
    "Антон",
    "Артём",
    "Владимир",
    "Дмитрий",
    "Евгений",
    "Иван",
    "Игорь",
    "Илья",
    "Кирилл",
    "Максим",
    "Михаил",
    "Никита",
    "Николай",
    "Олег",
    "Павел",
    "Роман",
    "Сергей",
    "Станислав",
    "Тимур",
    "Фёдор",
    "Юрий",
]
FEMALE_FIRST = [
    "Анастасия",
    "Анна",
    "Валентина",
    "Виктория",
    "Дарья",
    "Евгения",
    "Екатерина",
    "Елена",
    "Ирина",
    "Ксения",
    "Людмила",
    "Марина",
    "Мария",
    "Наталья",
    "Ольга",
    "Полина",
    "Светлана",
    "София",
    "Татьяна",
    "Юлия",
]
MALE_MIDDLE = [
    "Александрович",
    "Алексеевич",
    "Андреевич",
    "Викторович",
    "Владимирович",
    "Дмитриевич",
    "Евгеньевич",
    "Иванович",
    "Игоревич",
    "Михайлович",
    "Николаевич",
    "Олегович",
    "Павлович",
    "Сергеевич",
    "Юрьевич",
]
LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
]
COMPANIES = (
    "ООО «УралИнвест»",
    "АО «Сибирский капитал»",
    "ООО «Технопарк-Урал»",
    "ООО «Вектор-Строй»",
    "ООО «Горизонт»",
    "АО «Северная звезда»",
)
TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    middle_name: str
    phone: str
    email: str


def _latin(text: str) -> str:
    return "".join(TRANSLIT.get(ch, ch) for ch in text.lower())


def person(rng: random.Random, n: int) -> Person:
    """The n-th buyer: a plausible Russian name, a unique mobile number, often an e-mail."""
    female = rng.random() < 0.5
    last = rng.choice(LAST)
    first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
    middle = rng.choice(MALE_MIDDLE)
    if female:
        last = last + "а"
        middle = middle.removesuffix("ич") + "на"
    # Unique for n (a permutation of 0 … 10⁷−1), not a visible counter.
    code = rng.choice((12, 22, 50, 61, 82, 92, 96, 98))
    phone = f"+79{code:02d}{(n * 7_654_321 + 1_234_567) % 10**7:07d}"
    email = f"{_latin(first)}.{_latin(last)}{n}@example.ru" if rng.random() < 0.6 else ""
    return Person(last, first, middle, phone, email)


# Where the demo's buyers live and had their passports issued (the demo's cities are in the
# Urals; every buyer is registered in Yekaterinburg).
ISSUED_BY = (
    "ГУ МВД России по Свердловской области",
    "Отделом УФМС России по Свердловской обл. в Ленинском р-не г. Екатеринбурга",
    "Отделом УФМС России по Свердловской обл. в Кировском р-не г. Екатеринбурга",
    "Отделением УФМС России по Свердловской обл. в Верх-Исетском р-не г. Екатеринбурга",
)
HOME_STREETS = (
    "ул. Радищева",
    "ул. Малышева",
    "ул. Белинского",
    "ул. Репина",
    "ул. Ясная",
    "ул. Мира",
    "ул. Шейнкмана",
    "ул. Щербакова",
)


def papers(n: int, on: date) -> dict:
    """The n-th buyer's birth date, passport and registration, as a buyer shows them when a
    deal is signed on ``on``: derived from n alone (no draw from the seeded generator, so the
    rest of the data set is the same with or without them). Aged 23–62; the passport of a
    Russian citizen, issued at 20, or at 45 for one older, with the series' last two digits
    the year of issue."""
    age = 23 + n * 37 % 40
    born = date(on.year - age, 1 + n % 12, 1 + n * 7 % 28)
    issued_at = 45 if age >= 46 else 20
    issued = date(born.year + issued_at, born.month, born.day) + timedelta(days=n * 11 % 60)
    if issued > on:  # the birthday of the issue has not come yet this year
        issued = date(born.year + issued_at, born.month, born.day)
    office = n * 13 % 30
    return {
        "birth_date": born,
        "passport_number": f"65{issued.year % 100:02d} {(n * 7_919 + 104_729) % 10**6:06d}",
        "passport_issued_by": ISSUED_BY[n % len(ISSUED_BY)],
        "passport_issued_on": issued.strftime("%d.%m.%Y"),
        "passport_code": f"660-{office:03d}",
        "registration_address": (
            f"г. Екатеринбург, {HOME_STREETS[n % len(HOME_STREETS)]}, д. {1 + n * 3 % 97}, "
            f"кв. {1 + n * 17 % 240}"
        ),
    }
