"""Kongpan's core: ingest, store and metrics, importable without Streamlit."""

__version__ = "0.1.0"
