"""Checking and normalising identifiers. Error messages never repeat the value given:
they end up in API responses, logs and bug reports."""

from __future__ import annotations

import re
from typing import NoReturn

from flask import current_app

from registry.errors import ValidationFailed

_NHS_WEIGHTS = range(10, 1, -1)  # 10..2 for digits 1-9
_SEPARATORS = re.compile(r"[\s-]")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{10,15}$")
MAX_NAME_LENGTH = 200


def canonical_nhs_number(text: str) -> str:
    """The NHS number as 10 digits, or ValidationFailed saying what is wrong with it."""
    digits = _SEPARATORS.sub("", text)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        _nhs_invalid("An NHS number has 10 digits.")
    if digits == "0000000000":
        # It passes Modulus 11 (every weighted sum is 0, check digit 0) but is never issued;
        # systems use it as a "not known" placeholder, so accepting it would merge strangers.
        _nhs_invalid("This is a placeholder, not a real NHS number.")
    remainder = sum(int(d) * w for d, w in zip(digits[:9], _NHS_WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        _nhs_invalid("This NHS number is not valid: check it has been typed correctly.")
    if digits[0] == "9" and not current_app.config["SETTINGS"].allow_synthetic_nhs_numbers:
        # 9xx numbers are the test range; real participants never have one.
        _nhs_invalid("NHS numbers starting with 9 are test numbers and are not accepted here.")
    return digits


def _nhs_invalid(message: str) -> NoReturn:
    raise ValidationFailed({"nhs_number": [message]})


def canonical_postcode(text: str) -> tuple[str, str]:
    """(full postcode as "B15 2TT", outward code "B15"), or ValidationFailed."""
    compact = _SEPARATORS.sub("", text).upper()
    match = _POSTCODE.match(compact)
    if match is None:
        raise ValidationFailed({"postcode": ["Enter a full UK postcode, like B15 2TT."]})
    outward, inward = match.groups()
    return f"{outward} {inward}", outward


def check_name(field: str, text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise ValidationFailed({field: ["Enter a name."]})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed({field: [f"Names can be at most {MAX_NAME_LENGTH} characters."]})
    return name


def check_email(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    email = text.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed({"email": ["Enter an email address like name@example.com."]})
    return email


def check_phone(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    phone = re.sub(r"[\s()-]", "", text)
    if not _PHONE.match(phone):
        raise ValidationFailed({"phone": ["Enter a phone number of 10 to 15 digits."]})
    return phone
