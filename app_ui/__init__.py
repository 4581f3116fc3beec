"""The thin Streamlit side of Kongpan: shared state, caching and widgets.

Pages draw; sales_core computes. This package holds what every page needs:
the store handle, the language, cached figures keyed by the store's data
version, download buttons and the one way errors reach the screen.
"""
