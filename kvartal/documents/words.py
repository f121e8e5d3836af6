"""Amounts in words in Russian, as contracts write them."""

from decimal import ROUND_HALF_UP, Decimal

from num2words import num2words


def plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def rubles_in_words(amount: Decimal) -> str:
    """``Decimal("1234567.05")`` → "один миллион двести тридцать четыре тысячи пятьсот
    шестьдесят семь рублей 05 копеек"."""
    amount = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "минус " if amount < 0 else ""
    amount = abs(amount)
    rubles = int(amount)
    kopecks = int((amount - rubles) * 100)
    words = num2words(rubles, lang="ru")
    return (
        f"{sign}{words} {plural(rubles, 'рубль', 'рубля', 'рублей')} "
        f"{kopecks:02d} {plural(kopecks, 'копейка', 'копейки', 'копеек')}"
    )
