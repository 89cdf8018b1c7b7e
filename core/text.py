"""User text made safe to show: one escaper for the pages and the markdown model card."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: object) -> str:
    """User text (column names, file names, values) made inert inside markdown: no links, images,
    HTML or formatting, and on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")
