"""The README's scripting example runs as written (it is the notebook user's first contact)."""

from __future__ import annotations

import re

from support import ROOT


def _block_after(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_scripting_api_example_runs(capsys):
    code = _block_after("## Scripting API")
    namespace: dict = {}
    exec(compile(code, "README.md#scripting-api", "exec"), namespace)
    run = namespace["run"]
    assert 9.5 < run.metrics["rmse"] < 10.7
    assert namespace["fig"].data
    assert (namespace["model"].predict(namespace["df"].head(3)) == run.pipeline.predict(namespace["df"].head(3))).all()


def test_quick_start_has_exactly_the_two_commands():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start"):text.index("## What it does")]
    commands = re.findall(r"^make \w+", quick, re.MULTILINE)
    assert commands == ["make run", "make test"]
