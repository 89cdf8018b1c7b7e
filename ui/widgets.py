"""Widgets generated from the model catalog, shared by the Train and Compare devices pages."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from core.catalog import ParamSpec


def _log_ladder(low: float, high: float, default: float) -> list[float]:
    """1-2-5 steps per decade between low and high, plus the default: a slider for log-scale values."""
    values = {float(default)}
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = float(f"{mantissa}e{exponent}")
            if low <= value <= high:
                values.add(value)
    return sorted(values)


def param_widget(param: ParamSpec, key: str) -> Any:
    """One widget for a catalog hyperparameter; returns its value."""
    help_text = param.help or None
    if param.kind == "bool":
        return st.checkbox(param.label, value=bool(param.default), key=key, help=help_text)
    if param.kind == "choice":
        return st.selectbox(
            param.label, param.choices, index=param.choices.index(param.default), key=key, help=help_text
        )
    if param.kind == "layers":
        return st.text_input(param.label, value=str(param.default), key=key, help=help_text, placeholder="64,32")
    if param.kind == "float" and param.log:
        return st.select_slider(
            param.label, options=_log_ladder(param.low, param.high, param.default), value=float(param.default),
            format_func=lambda v: f"{v:g}", key=key, help=help_text,
        )
    if param.kind == "float":
        return st.slider(
            param.label, float(param.low), float(param.high), float(param.default), float(param.step or 0.01),
            key=key, help=help_text,
        )
    if param.high - param.low <= 1000:
        return st.slider(
            param.label, int(param.low), int(param.high), int(param.default), int(param.step or 1), key=key,
            help=help_text,
        )
    return st.number_input(
        param.label, int(param.low), int(param.high), int(param.default), int(param.step or 1), key=key,
        help=help_text,
    )
