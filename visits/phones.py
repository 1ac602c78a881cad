"""Phone numbers: parse, check, format, and whether an SMS can reach them.

Google's numbering plan (the `phonenumbers` package) decides what a Russian
number is, not a regular expression: «+7 300 ...» does not exist, 383 is a
city code, 913 a mobile one, 800 a free line. The office file gives the city
code that a bare local number («238-60-02») belongs to (`office.city_code`).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from visits.errors import InvalidInput

_REGION = "RU"
# Stored form: E.164, "+7" and ten digits (Client.phone is 12 characters).
_STORED = re.compile(r"^\+7\d{10}$")

NOT_RUSSIAN = "Номер телефона должен быть российским: +7 и 10 цифр, например +7 913 123-45-67."
NO_SUCH_NUMBER = (
    "Такого номера в России нет. Проверьте код: мобильный номер начинается с 9, "
    "городской — с кода города."
)
NEEDS_CITY_CODE = "Укажите номер с кодом города, например 383 238-60-02."
NO_SMS_TO_LANDLINE = (
    "SMS на городской номер не приходят. Укажите мобильный номер "
    "или выберите звонок или электронную почту."
)


def _parse(raw: str, city_code: str | None) -> phonenumbers.PhoneNumber:
    digits = re.sub(r"\D", "", raw or "")
    if city_code and len(city_code) + len(digits) == 10:
        # A local number as people say it in the office's own city: 238-60-02.
        digits = city_code + digits
    elif len(digits) == 7 and not city_code:
        raise InvalidInput(NEEDS_CITY_CODE, field="phone")
    if len(digits) == 10:
        digits = "7" + digits
    if len(digits) != 11 or digits[0] not in "78":
        raise InvalidInput(NOT_RUSSIAN, field="phone")
    try:
        return phonenumbers.parse("+7" + digits[1:], _REGION)
    except NumberParseException as exc:
        raise InvalidInput(NOT_RUSSIAN, field="phone") from exc


def phone_normalise(raw: str, *, city_code: str | None = None) -> str:
    """Return "+7XXXXXXXXXX" for a real Russian number, or raise InvalidInput in Russian.

    `city_code` (the office file's) completes a bare local number; without it such a
    number is refused with a request for the code.
    """
    number = _parse(raw, city_code)
    if not phonenumbers.is_valid_number(number) or (
        phonenumbers.region_code_for_number(number) != _REGION
    ):
        raise InvalidInput(NO_SUCH_NUMBER, field="phone")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_display(phone: str) -> str:
    """+79131234567 -> "+7 913 123-45-67"; anything else is shown as stored."""
    if not _STORED.match(phone or ""):
        return phone
    try:
        number = phonenumbers.parse(phone, _REGION)
    except NumberParseException:
        return phone
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def phone_is_mobile(phone: str) -> bool:
    """True for a mobile number (an SMS can reach it); False for a city or free line."""
    try:
        number = phonenumbers.parse(phone, _REGION)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def phone_check_sms(phone: str, *, field: str = "channel") -> None:
    """Refuse the SMS channel for a number that is not mobile (a landline gets no SMS)."""
    if not phone_is_mobile(phone):
        raise InvalidInput(NO_SMS_TO_LANDLINE, field=field)
