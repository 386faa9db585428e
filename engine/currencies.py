"""ISO 4217 codes and their minor units (digits after the decimal point).

Written out here rather than taken from a package: the engine needs only the code
list and the minor unit, and the ones in use change rarely. Codes with no minor unit
(precious metals, testing, special drawing rights) are codes all the same, but a
deployment can't bill in them.
"""

from __future__ import annotations

from engine.errors import SettingsError

_MINOR_UNITS_BY_DIGITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: (
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL "
        "BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK "
        "DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF "
        "IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA "
        "MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB "
        "PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS "
        "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS "
        "VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
    ),
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
_NO_MINOR_UNIT = "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX"

MINOR_UNITS: dict[str, int] = {
    code: digits for digits, codes in _MINOR_UNITS_BY_DIGITS.items() for code in codes.split()
}
ISO_4217_CODES = frozenset(MINOR_UNITS) | frozenset(_NO_MINOR_UNIT.split())


def is_iso_4217(code: str) -> bool:
    """True for a current ISO 4217 alphabetic code."""
    return code in ISO_4217_CODES


def minor_unit_digits(code: str) -> int:
    """The minor-unit digits of a currency a deployment can bill in."""
    if code not in MINOR_UNITS:
        known = "an ISO 4217 code with no minor unit" if code in ISO_4217_CODES else "not an ISO 4217 code"
        raise SettingsError(f"BILLING_CURRENCY: {code!r} is {known}; use e.g. CNY, USD or JPY")
    return MINOR_UNITS[code]
