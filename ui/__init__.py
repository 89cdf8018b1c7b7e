"""Streamlit glue shared by the pages: session keys, guards, cached wrappers, rendering helpers.

Pages import from here instead of copying; core/ never imports this package.
"""
