"""Synthetic client applications in the schema of Home Credit's `application_train.csv`.

The real file cannot ship with the project, so the demo, the tests and the benchmarks use data
that looks like it: the same column names and dtypes, realistic marginals and missing rates, and a
target driven mainly by the EXT_SOURCE scores (as in the real data), so LightGBM lands in the
same AUC range (~0.75) and the same default rate (~8%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

REAL_ROW_COUNT = 307_511
DEFAULT_RATE = 0.0807
FIRST_CLIENT_ID = 100_002
DAYS_EMPLOYED_PLACEHOLDER = 365_243

_INCOME_TYPES = {
    "Working": 0.516,
    "Commercial associate": 0.233,
    "Pensioner": 0.180,
    "State servant": 0.0706,
    "Unemployed": 0.0002,
    "Student": 0.0001,
    "Businessman": 0.0001,
    "Maternity leave": 0.0001,
}
_EDUCATION = {
    "Secondary / secondary special": 0.710,
    "Higher education": 0.243,
    "Incomplete higher": 0.033,
    "Lower secondary": 0.0124,
    "Academic degree": 0.0005,
}
_FAMILY_STATUS = {
    "Married": 0.639,
    "Single / not married": 0.148,
    "Civil marriage": 0.097,
    "Separated": 0.064,
    "Widow": 0.052,
}
_HOUSING = {
    "House / apartment": 0.887,
    "With parents": 0.048,
    "Municipal apartment": 0.036,
    "Rented apartment": 0.016,
    "Office apartment": 0.0085,
    "Co-op apartment": 0.0036,
}
_SUITE = {
    "Unaccompanied": 0.812,
    "Family": 0.131,
    "Spouse, partner": 0.037,
    "Children": 0.011,
    "Other_B": 0.0058,
    "Other_A": 0.0028,
    "Group of people": 0.0009,
}
_OCCUPATIONS = {
    "Laborers": 0.261,
    "Sales staff": 0.152,
    "Core staff": 0.130,
    "Managers": 0.101,
    "Drivers": 0.088,
    "High skill tech staff": 0.054,
    "Accountants": 0.046,
    "Medicine staff": 0.040,
    "Security staff": 0.032,
    "Cooking staff": 0.028,
    "Cleaning staff": 0.022,
    "Private service staff": 0.013,
    "Low-skill Laborers": 0.010,
    "Waiters/barmen staff": 0.0064,
    "Secretaries": 0.0062,
    "Realty agents": 0.0035,
    "HR staff": 0.0027,
    "IT staff": 0.0025,
}
_ORGANIZATIONS = {
    "Business Entity Type 3": 0.271,
    "Self-employed": 0.153,
    "Other": 0.066,
    "Medicine": 0.045,
    "Business Entity Type 2": 0.042,
    "Government": 0.041,
    "School": 0.035,
    "Trade: type 7": 0.031,
    "Kindergarten": 0.027,
    "Construction": 0.027,
    "Business Entity Type 1": 0.024,
    "Transport: type 4": 0.021,
    "Trade: type 3": 0.014,
    "Industry: type 9": 0.013,
    "Industry: type 3": 0.013,
    "Security": 0.013,
    "Housing": 0.012,
    "Industry: type 11": 0.011,
    "Military": 0.010,
    "Bank": 0.010,
    "Agriculture": 0.010,
    "Police": 0.009,
    "Transport: type 2": 0.009,
    "Postal": 0.009,
    "Security Ministries": 0.008,
    "Trade: type 2": 0.008,
    "Restaurant": 0.007,
    "Services": 0.006,
    "University": 0.005,
    "Industry: type 7": 0.005,
    "Transport: type 3": 0.005,
    "Industry: type 1": 0.004,
    "Hotel": 0.004,
    "Electricity": 0.004,
    "Industry: type 4": 0.004,
    "Trade: type 6": 0.002,
    "Insurance": 0.002,
    "Emergency": 0.002,
    "Telecom": 0.002,
    "Realtor": 0.002,
    "Advertising": 0.002,
    "Culture": 0.002,
    "Mobile": 0.001,
    "Legal Services": 0.001,
    "Cleaning": 0.001,
}
_WEEKDAYS = {
    "TUESDAY": 0.175,
    "WEDNESDAY": 0.169,
    "MONDAY": 0.165,
    "THURSDAY": 0.164,
    "FRIDAY": 0.164,
    "SATURDAY": 0.110,
    "SUNDAY": 0.053,
}


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    probs = np.array(list(table.values()), dtype=float)
    return rng.choice(np.array(list(table.keys()), dtype=object), size=n, p=probs / probs.sum())


def _with_missing(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    values = values.astype(float) if values.dtype != object else values.copy()
    mask = rng.random(len(values)) < rate
    values[mask] = np.nan
    return values


def _calibrated_intercept(logit: np.ndarray, rate: float) -> float:
    """Find the intercept that makes the mean default probability equal `rate` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if expit(logit + mid).mean() > rate:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def generate_applications(n_rows: int = 50_000, seed: int = 42) -> pd.DataFrame:
    """Return `n_rows` synthetic applications (SK_ID_CURR, TARGET and 60 Home Credit columns).

    Deterministic for a given (n_rows, seed).
    """
    if n_rows < 1:
        raise ValueError("n_rows must be at least 1")
    rng = np.random.default_rng(seed)
    n = n_rows
    risk = rng.standard_normal(n)  # latent credit risk: higher means more likely to default

    gender = rng.choice(np.array(["F", "M", "XNA"], dtype=object), size=n, p=[0.65829, 0.34169, 0.00002])
    income_type = _choice(rng, _INCOME_TYPES, n)
    pensioner = income_type == "Pensioner"
    no_job = pensioner | (income_type == "Unemployed")

    age_years = np.where(pensioner, rng.normal(59, 5, n), rng.normal(41, 10.5, n)).clip(20.5, 69)
    days_birth = -np.round(age_years * 365.25).astype(int)
    employed_years = rng.gamma(1.6, 3.8, n).clip(0.01, age_years - 18)
    days_employed = np.where(no_job, DAYS_EMPLOYED_PLACEHOLDER, -np.round(employed_years * 365.25)).astype(
        int
    )

    education = _choice(rng, _EDUCATION, n)
    higher_edu = np.isin(education, ["Higher education", "Academic degree"])
    income = np.exp(rng.normal(11.85 + 0.25 * higher_edu - 0.25 * pensioner, 0.5, n)).clip(25_650, 1.2e7)
    income = np.round(income / 450) * 450
    contract = rng.choice(np.array(["Cash loans", "Revolving loans"], dtype=object), size=n, p=[0.905, 0.095])
    revolving = contract == "Revolving loans"
    credit = np.exp(rng.normal(13.0 + 0.25 * np.log(income / 147_150), 0.6, n)).clip(45_000, 4_050_000)
    credit = np.where(
        revolving, np.round(credit / 4 / 22_500) * 22_500 + 22_500, np.round(credit / 4.5) * 4.5
    )
    term_months = np.where(revolving, 20.0, rng.choice([12, 18, 24, 36, 48, 60], size=n).astype(float))
    annuity = np.round(credit / term_months * (1 + 0.08 * term_months / 12) / 1.0, 1).clip(1_615, 258_025)
    goods_ratio = np.where(revolving, 1.0, rng.uniform(0.78, 1.0, n))
    goods_price = np.round(credit * goods_ratio / 450) * 450

    children = rng.choice(np.arange(6), size=n, p=[0.70, 0.199, 0.087, 0.012, 0.0014, 0.0006])
    family_status = _choice(rng, _FAMILY_STATUS, n)
    couple = np.isin(family_status, ["Married", "Civil marriage"])
    fam_members = (children + 1 + couple).astype(float)

    ext_noise = 0.9
    ext1 = ndtr(-0.75 * risk + 0.02 * (age_years - 43) + rng.normal(0, ext_noise, n))
    ext2 = ndtr(-0.80 * risk + 0.08 * np.log(income / 147_150) + rng.normal(0, ext_noise, n) + 0.05)
    ext3 = ndtr(-0.80 * risk + 0.015 * (age_years - 43) + rng.normal(0, ext_noise, n))

    occupation = np.where(no_job, None, _choice(rng, _OCCUPATIONS, n)).astype(object)
    organization = np.where(no_job, "XNA", _choice(rng, _ORGANIZATIONS, n)).astype(object)
    region_rating = rng.choice([1, 2, 3], size=n, p=[0.105, 0.738, 0.157])
    region_rating_city = np.where(rng.random(n) < 0.9, region_rating, rng.choice([1, 2, 3], size=n))
    own_car = rng.random(n) < 0.34

    logit = (
        1.45 * risk
        - 0.012 * (age_years - 43)
        + 0.30 * (gender == "M")
        - 0.35 * higher_edu
        + 0.18 * (region_rating - 2)
        + 0.25 * np.log(credit / goods_price)
        + 0.15 * (income_type == "Working")
        - 0.20 * own_car
        + 0.10 * (occupation == "Laborers")
        + 0.25 * (occupation == "Low-skill Laborers")
        - 0.15 * (contract == "Revolving loans")
    )
    logit = logit + _calibrated_intercept(logit, DEFAULT_RATE)
    target = (rng.random(n) < expit(logit)).astype(int)

    data = {
        "SK_ID_CURR": np.arange(FIRST_CLIENT_ID, FIRST_CLIENT_ID + n),
        "TARGET": target,
        "NAME_CONTRACT_TYPE": contract,
        "CODE_GENDER": gender,
        "FLAG_OWN_CAR": np.where(own_car, "Y", "N").astype(object),
        "FLAG_OWN_REALTY": np.where(rng.random(n) < 0.694, "Y", "N").astype(object),
        "CNT_CHILDREN": children,
        "AMT_INCOME_TOTAL": income,
        "AMT_CREDIT": credit,
        "AMT_ANNUITY": _with_missing(rng, annuity, 0.00004),
        "AMT_GOODS_PRICE": _with_missing(
            rng, np.where(revolving & (rng.random(n) < 0.01), np.nan, goods_price), 0.0009
        ),
        "NAME_TYPE_SUITE": _with_missing(rng, _choice(rng, _SUITE, n), 0.0042),
        "NAME_INCOME_TYPE": income_type,
        "NAME_EDUCATION_TYPE": education,
        "NAME_FAMILY_STATUS": family_status,
        "NAME_HOUSING_TYPE": _choice(rng, _HOUSING, n),
        "REGION_POPULATION_RELATIVE": np.round(rng.gamma(2.2, 0.0095, n).clip(0.00029, 0.0725), 6),
        "DAYS_BIRTH": days_birth,
        "DAYS_EMPLOYED": days_employed,
        "DAYS_REGISTRATION": -np.round(rng.uniform(0, 1, n) ** 0.9 * (age_years - 18) * 365.25).astype(float),
        "DAYS_ID_PUBLISH": -rng.integers(0, 7_197, n),
        "OWN_CAR_AGE": np.where(own_car, np.round(rng.gamma(2.0, 6.0, n).clip(0, 91)), np.nan),
        "FLAG_MOBIL": np.ones(n, dtype=int),
        "FLAG_EMP_PHONE": (~no_job).astype(int),
        "FLAG_WORK_PHONE": (rng.random(n) < 0.2).astype(int),
        "FLAG_CONT_MOBILE": (rng.random(n) < 0.998).astype(int),
        "FLAG_PHONE": (rng.random(n) < 0.281).astype(int),
        "FLAG_EMAIL": (rng.random(n) < 0.057).astype(int),
        "OCCUPATION_TYPE": occupation,
        "CNT_FAM_MEMBERS": _with_missing(rng, fam_members, 0.00001),
        "REGION_RATING_CLIENT": region_rating,
        "REGION_RATING_CLIENT_W_CITY": region_rating_city,
        "WEEKDAY_APPR_PROCESS_START": _choice(rng, _WEEKDAYS, n),
        "HOUR_APPR_PROCESS_START": rng.normal(12, 3.3, n).round().clip(0, 23).astype(int),
        "REG_REGION_NOT_LIVE_REGION": (rng.random(n) < 0.015).astype(int),
        "REG_CITY_NOT_LIVE_CITY": (rng.random(n) < 0.078).astype(int),
        "REG_CITY_NOT_WORK_CITY": (rng.random(n) < 0.23).astype(int),
        "LIVE_CITY_NOT_WORK_CITY": (rng.random(n) < 0.18).astype(int),
        "ORGANIZATION_TYPE": organization,
        "EXT_SOURCE_1": _with_missing(rng, np.round(ext1, 6), 0.5638),
        "EXT_SOURCE_2": _with_missing(rng, np.round(ext2, 6), 0.0021),
        "EXT_SOURCE_3": _with_missing(rng, np.round(ext3, 6), 0.1983),
        "APARTMENTS_AVG": _with_missing(rng, np.round(rng.beta(1.6, 11, n), 4), 0.5075),
        "YEARS_BEGINEXPLUATATION_AVG": _with_missing(rng, np.round(rng.beta(60, 1.3, n), 4), 0.4878),
        "FLOORSMAX_AVG": _with_missing(rng, np.round(rng.beta(2.2, 7.5, n), 4), 0.4976),
        "TOTALAREA_MODE": _with_missing(rng, np.round(rng.beta(1.5, 13, n), 4), 0.4827),
        "OBS_30_CNT_SOCIAL_CIRCLE": _with_missing(rng, rng.poisson(1.42, n), 0.0033),
        "DEF_30_CNT_SOCIAL_CIRCLE": _with_missing(rng, rng.poisson(0.12 + 0.06 * (risk > 1), n), 0.0033),
        "OBS_60_CNT_SOCIAL_CIRCLE": _with_missing(rng, rng.poisson(1.40, n), 0.0033),
        "DEF_60_CNT_SOCIAL_CIRCLE": _with_missing(rng, rng.poisson(0.09 + 0.05 * (risk > 1), n), 0.0033),
        "DAYS_LAST_PHONE_CHANGE": -np.round(rng.exponential(960, n).clip(0, 4_292)).astype(float),
        "FLAG_DOCUMENT_3": (rng.random(n) < 0.71).astype(int),
        "FLAG_DOCUMENT_6": (rng.random(n) < 0.088).astype(int),
        "FLAG_DOCUMENT_8": (rng.random(n) < 0.081).astype(int),
        "AMT_REQ_CREDIT_BUREAU_HOUR": _with_missing(rng, rng.poisson(0.006, n), 0.135),
        "AMT_REQ_CREDIT_BUREAU_DAY": _with_missing(rng, rng.poisson(0.007, n), 0.135),
        "AMT_REQ_CREDIT_BUREAU_WEEK": _with_missing(rng, rng.poisson(0.034, n), 0.135),
        "AMT_REQ_CREDIT_BUREAU_MON": _with_missing(rng, rng.poisson(0.27, n), 0.135),
        "AMT_REQ_CREDIT_BUREAU_QRT": _with_missing(rng, rng.poisson(0.27, n), 0.135),
        "AMT_REQ_CREDIT_BUREAU_YEAR": _with_missing(rng, rng.poisson(1.9, n), 0.135),
    }
    return pd.DataFrame(data)
