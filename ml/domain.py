"""What is known about Home Credit columns: plausible ranges and the DAYS_EMPLOYED placeholder.

Applied only to columns that are present, so any other CSV passes through untouched.
"""

from __future__ import annotations

DAYS_EMPLOYED_PLACEHOLDER = 365_243

_AGE_LIMIT_DAYS = 120 * 365.25

KNOWN_RANGES: dict[str, tuple[float, float]] = {
    "AMT_INCOME_TOTAL": (0.0, 1e9),
    "AMT_CREDIT": (0.0, 1e8),
    "AMT_ANNUITY": (0.0, 1e7),
    "AMT_GOODS_PRICE": (0.0, 1e8),
    "CNT_CHILDREN": (0.0, 30.0),
    "CNT_FAM_MEMBERS": (1.0, 40.0),
    "DAYS_BIRTH": (-_AGE_LIMIT_DAYS, -14 * 365.25),
    "DAYS_EMPLOYED": (-_AGE_LIMIT_DAYS, float(DAYS_EMPLOYED_PLACEHOLDER)),
    "DAYS_REGISTRATION": (-_AGE_LIMIT_DAYS, 0.0),
    "DAYS_ID_PUBLISH": (-_AGE_LIMIT_DAYS, 0.0),
    "DAYS_LAST_PHONE_CHANGE": (-_AGE_LIMIT_DAYS, 0.0),
    "OWN_CAR_AGE": (0.0, 100.0),
    "EXT_SOURCE_1": (0.0, 1.0),
    "EXT_SOURCE_2": (0.0, 1.0),
    "EXT_SOURCE_3": (0.0, 1.0),
    "REGION_POPULATION_RELATIVE": (0.0, 1.0),
    "REGION_RATING_CLIENT": (1.0, 3.0),
    "REGION_RATING_CLIENT_W_CITY": (1.0, 3.0),
    "HOUR_APPR_PROCESS_START": (0.0, 23.0),
}
