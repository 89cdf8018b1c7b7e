"""The workbench itself: data, exploration, training, explanation and export.

Nothing in this package imports streamlit, so every feature is scriptable from a notebook and
testable without a browser. Heavy libraries (torch, shap) are imported by the modules that need
them, never here.
"""
