"""Small helpers every metrics module uses: calendar days, missing values, JSON.

Timestamps are compared by calendar day throughout the metrics: a value "in
[first, last]" falls on a day from first to last, both included.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd


def day_of(value: Any) -> date:
    """A date, datetime or Timestamp as a calendar day."""
    return pd.Timestamp(value).date()


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (a scalar; arrays are never missing)."""
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def on_days(stamps: pd.Series, first: Any, last: Any) -> pd.Series:
    """Mask: the timestamp falls on a day in [first, last] (NaT never does)."""
    stamps = pd.to_datetime(stamps, errors="coerce")
    after = pd.Timestamp(day_of(first))
    before = pd.Timestamp(day_of(last)) + pd.Timedelta(days=1)
    return (stamps >= after) & (stamps < before)


def json_value(value: Any) -> Any:
    """A cell as a JSON-ready value: numpy scalars unwrapped, missing → None."""
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value
