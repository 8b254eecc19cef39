"""What each input means, in the operator's words: the form's help texts and the explanation's labels.

Home Credit columns are described here (meaning and unit, after the dataset's own column notes);
engineered features say what they are made of (ml.features); any other column gets its name and the
range the served model accepts, so a new model's form still explains itself.
"""

from __future__ import annotations

import re
from typing import Any

from ml.features import ENGINEERED

DAYS_BEFORE = "days before the application, as a negative number (-365 = one year ago)"

DESCRIPTIONS: dict[str, str] = {
    "NAME_CONTRACT_TYPE": "Kind of loan: cash or revolving (a credit line).",
    "CODE_GENDER": "Gender of the applicant. Never given as a reason for a decision.",
    "FLAG_OWN_CAR": "Does the applicant own a car (Y / N).",
    "FLAG_OWN_REALTY": "Does the applicant own a house or flat (Y / N).",
    "CNT_CHILDREN": "Number of children.",
    "AMT_INCOME_TOTAL": "Yearly income of the applicant, in the loan's currency.",
    "AMT_CREDIT": "Amount of the loan applied for, in the loan's currency.",
    "AMT_ANNUITY": "Loan annuity: the yearly repayment, in the loan's currency.",
    "AMT_GOODS_PRICE": "For consumer loans, the price of the goods the loan pays for, in the loan's currency.",
    "NAME_TYPE_SUITE": "Who accompanied the applicant when applying.",
    "NAME_INCOME_TYPE": "Source of income (working, pensioner, state servant, ...).",
    "NAME_EDUCATION_TYPE": "Highest education level reached.",
    "NAME_FAMILY_STATUS": "Family status.",
    "NAME_HOUSING_TYPE": "Housing situation (owned house or flat, rented, with parents, ...).",
    "REGION_POPULATION_RELATIVE": "Normalised population of the region the applicant lives in "
    "(a higher number = a more populated region).",
    "DAYS_BIRTH": f"Age: {DAYS_BEFORE.replace('days before', 'days from birth to')} "
    "(-12,000 is about 33 years). Never given as a reason for a decision.",
    "DAYS_EMPLOYED": f"Start of the current employment, in {DAYS_BEFORE}; 365243 means not employed.",
    "DAYS_REGISTRATION": f"Last change of the applicant's registration, in {DAYS_BEFORE}.",
    "DAYS_ID_PUBLISH": f"Last change of the identity document, in {DAYS_BEFORE}.",
    "OWN_CAR_AGE": "Age of the applicant's car, in years.",
    "OCCUPATION_TYPE": "Occupation of the applicant.",
    "CNT_FAM_MEMBERS": "Number of family members, the applicant included.",
    "REGION_RATING_CLIENT": "Home Credit's rating of the region the applicant lives in (1 best, 3 worst).",
    "REGION_RATING_CLIENT_W_CITY": "The same rating, taking the city into account (1 best, 3 worst).",
    "WEEKDAY_APPR_PROCESS_START": "Day of the week the application was made.",
    "HOUR_APPR_PROCESS_START": "Hour of the day the application was made (0-23).",
    "ORGANIZATION_TYPE": "Type of organisation the applicant works for.",
    "EXT_SOURCE_1": "Normalised score from an external credit bureau, 0 (worst) to 1 (best).",
    "EXT_SOURCE_2": "Normalised score from a second external source, 0 (worst) to 1 (best).",
    "EXT_SOURCE_3": "Normalised score from a third external source, 0 (worst) to 1 (best).",
    "OBS_30_CNT_SOCIAL_CIRCLE": "Acquaintances of the applicant with a loan 30 days past due observed.",
    "DEF_30_CNT_SOCIAL_CIRCLE": "Acquaintances of the applicant who defaulted 30 days past due.",
    "OBS_60_CNT_SOCIAL_CIRCLE": "Acquaintances of the applicant with a loan 60 days past due observed.",
    "DEF_60_CNT_SOCIAL_CIRCLE": "Acquaintances of the applicant who defaulted 60 days past due.",
    "DAYS_LAST_PHONE_CHANGE": f"Last change of phone, in {DAYS_BEFORE}.",
}

PATTERNS: tuple[tuple[str, str], ...] = (
    (r"FLAG_DOCUMENT_(\d+)", "Did the applicant provide document {0} (1 = yes, 0 = no)."),
    (
        r"FLAG_(MOBIL|EMP_PHONE|WORK_PHONE|CONT_MOBILE|PHONE|EMAIL)",
        "Did the applicant give this contact (1 = yes, 0 = no).",
    ),
    (
        r"AMT_REQ_CREDIT_BUREAU_(HOUR|DAY|WEEK|MON|QRT|YEAR)",
        "Enquiries to the credit bureau about the applicant in the last {0} before the application "
        "(HOUR, DAY, WEEK, MON = month, QRT = quarter, YEAR).",
    ),
    (
        r"(REG|LIVE)_(REGION|CITY)_NOT_(LIVE|WORK)_(REGION|CITY)",
        "1 when the two addresses in the name differ (permanent / contact / work), else 0.",
    ),
    (
        r"\w+_(AVG|MODE|MEDI)",
        "Normalised information about the building the applicant lives in (0 to 1; {0} over the building).",
    ),
)

MADE_OF = {feature.name: feature for feature in ENGINEERED}


def describe(name: str) -> str:
    """What a raw column means, with its unit; '' for a column not known here."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    for pattern, text in PATTERNS:
        match = re.fullmatch(pattern, name)
        if match:
            return text.format(*match.groups())
    return ""


def field_help(spec: dict[str, Any]) -> str:
    """A form field's help: what the column means, then what the served model accepts for it."""
    parts = [describe(spec["name"]) or f"{spec['name']} (no description for this column)."]
    if spec.get("kind") == "categorical":
        parts.append(f"One of {len(spec.get('categories', []))} categories, or (missing).")
    elif spec.get("allowed_min") is not None and spec.get("allowed_max") is not None:
        parts.append(f"Accepted: {spec['allowed_min']:,.6g} to {spec['allowed_max']:,.6g}.")
    if spec.get("example") is not None:
        parts.append(f"Typical: {spec['example']}.")
    parts.append("Leave empty if unknown: the answer then names it as absent.")
    return " ".join(parts)


def label(feature: str) -> str:
    """A model feature as the explanation names it: an engineered one with what it is made of."""
    engineered = MADE_OF.get(feature)
    if engineered is None:
        return feature
    return f"{feature} — {engineered.description} ({', '.join(engineered.inputs)})"


def is_engineered(feature: str) -> bool:
    return feature in MADE_OF
