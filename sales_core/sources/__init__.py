"""Data sources other than uploaded files: a CRM's own SQL database.

profile.py reads and checks mapping profiles (data/sources/*.toml); sql.py
reads the database through one into canonical frames (SqlSource); reports.py
runs the store's report functions on it and tests the connection.
"""

from sales_core.sources.profile import (
    SourceProfile,
    find_profile,
    load_profile,
    profile_paths,
    sources_dir,
)
from sales_core.sources.reports import (
    SourceCheck,
    check_source,
    open_source,
    progress_window,
    source_funnel,
    source_progress,
)
from sales_core.sources.sql import SqlSource, describe_failure, source_engine

__all__ = [
    "SourceCheck",
    "SourceProfile",
    "SqlSource",
    "check_source",
    "describe_failure",
    "find_profile",
    "load_profile",
    "open_source",
    "profile_paths",
    "progress_window",
    "source_engine",
    "source_funnel",
    "source_progress",
    "sources_dir",
]
