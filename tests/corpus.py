"""A generated corpus of bad or awkward input files, made fresh by the tests (nothing checked in).

Each Case says what a correct reader must do with the file: give a frame (with a check of what
that frame must look like) or refuse it with one sentence that names the problem.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    content: bytes
    # "frame": loads; check(df) must hold. "error": DataError whose message contains `says`.
    expect: str
    check: Callable[[pd.DataFrame], bool] | None = None
    says: tuple[str, ...] = ()
    # Whether training on the loaded frame should train ("trains") or refuse ("refuses").
    training: str | None = None
    target: str | None = None
    # When training refuses: words its sentence must contain (the reason, not some other one).
    training_says: tuple[str, ...] = ()


def _csv(text: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return text.replace("\n", newline).encode(encoding)


def _xlsx(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_excel(buf, index=False)
    return buf.getvalue()


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x.round(4), "z": rng.integers(0, 5, n), "y": (2 * x + rng.normal(size=n)).round(4)})


def _feature(i: int) -> float:
    """A feature that does not look like a row number (0, 1, 2, ... would be ignored as an ID)."""
    return round((i * 7) % 11 + 0.5, 1)


def _png() -> bytes:
    # A valid 1x1 PNG header and chunks; enough for any sniffing to see an image.
    return (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def build() -> list[Case]:
    """The corpus: at least 30 cases covering issue 7's list."""
    rows = _rows(60)
    good_csv = rows.to_csv(index=False)
    wide = pd.DataFrame(np.arange(5 * 10_000).reshape(5, 10_000) % 7, columns=[f"c{i}" for i in range(10_000)])
    html_names = ["**bold**", "<img src=x onerror=alert(1)>", "[link](http://example.com)", "y"]
    long_name = "a_very_long_column_name_" * 20
    cases = [
        Case("empty file", "empty.csv", b"", "error", says=("empty",)),
        Case("only whitespace", "blank.csv", b"  \n\n \r\n", "error", says=("empty",)),
        Case("header only", "header_only.csv", b"a,b,c\n", "error", says=("no data rows",)),
        Case("one row", "one_row.csv", b"a,b,c\n1,2,3\n", "frame", lambda d: d.shape == (1, 3)),
        Case("one column", "one_column.csv", b"value\n1\n2\n3\n4\n", "frame", lambda d: d.shape == (4, 1)),
        Case("binary garbage", "garbage.csv", bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
             "error", says=("does not look like",)),
        Case("PNG renamed .csv", "picture.csv", _png(), "error", says=("image",)),
        Case("truncated xlsx", "truncated.xlsx", _xlsx(rows)[:700], "error", says=("xlsx", "Excel")),
        Case("zip that is not xlsx", "archive.xlsx", _zip_bytes(), "error", says=("Excel",)),
        Case("Latin-1 text", "latin1.csv", _csv("name,city\nJosé,Málaga\nRené,Zürich\n", "latin-1"),
             "frame", lambda d: d.iloc[0, 0] == "José" and d.iloc[1, 1] == "Zürich"),
        Case("cp1252 text", "cp1252.csv", _csv("item,price\n“quoted” – dash,5\n€ sign…,7\n", "cp1252"),
             "frame", lambda d: d.iloc[1, 0] == "€ sign…" and d.shape == (2, 2)),
        Case("UTF-8 BOM + CRLF, no final newline", "bom.csv", b"\xef\xbb\xbf" + _csv("a,b\r\n1,2\r\n3,4"),
             "frame", lambda d: list(d.columns) == ["a", "b"] and d.shape == (2, 2)),
        Case("mixed line endings", "mixed.csv", b"a,b\r\n1,2\n3,4\r\n5,6\n", "frame", lambda d: d.shape == (3, 2)),
        Case("ragged rows", "ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n", "error", says=("line",)),
        Case("duplicate column names", "dupes.csv", b"a,a,b\n1,2,3\n4,5,6\n", "error", says=("'a'",)),
        Case("empty column names", "empty_names.csv", b",b,\n1,2,3\n4,5,6\n", "frame",
             lambda d: d.shape == (2, 3) and all(str(c).strip() for c in d.columns)),
        Case("very long column names", "long_names.csv", _csv(f"{long_name},y\n1,2\n3,4\n"), "frame",
             lambda d: d.columns[0] == long_name),
        Case("markdown and HTML in column names", "html_names.csv",
             _csv(pd.DataFrame([[1, 2, 3, 4], [5, 6, 7, 8]], columns=html_names).to_csv(index=False)),
             "frame", lambda d: list(d.columns) == html_names),
        Case("a column that is all missing", "all_missing.csv", _csv("a,empty,y\n1,,2\n3,,4\n5,,6\n"), "frame",
             lambda d: d["empty"].isna().all()),
        Case("constant target", "constant_target.csv",
             _csv("x,y\n" + "".join(f"{_feature(i)},5\n" for i in range(40))), "frame",
             lambda d: d["y"].nunique() == 1, training="refuses", target="y", training_says=("single value",)),
        Case("single-class target", "one_class.csv",
             _csv("x,label\n" + "".join(f"{_feature(i)},yes\n" for i in range(40))), "frame",
             lambda d: len(d) == 40, training="refuses", target="label", training_says=("single value",)),
        Case("a class with one member", "rare_class.csv",
             _csv("x,label\n" + "".join(f"{_feature(i)},{'a' if i % 2 else 'b'}\n" for i in range(40)) + "99,c\n"),
             "frame", lambda d: (d["label"] == "c").sum() == 1, training="refuses", target="label",
             training_says=("'c'", "only 1 row")),
        Case("infinities and huge values", "inf.csv",
             _csv("x,w,y\n" + "".join(f"{v},{i},{i * 2}\n" for i, v in
                                       enumerate(["inf", "-inf", "1e308", "-1e308"] + [str(i) for i in range(36)]))),
             "frame", lambda d: len(d) == 40, training="trains", target="y"),
        Case("10,000 columns", "wide.csv", _csv(wide.to_csv(index=False)), "frame",
             lambda d: d.shape == (5, 10_000)),
        Case("dates", "dates.csv", _csv("day,sales\n2024-01-01,3\n2024-01-02,5\n2024-01-03,4\n"), "frame",
             lambda d: d.shape == (3, 2) and pd.api.types.is_datetime64_any_dtype(d["day"])),
        Case("booleans", "bools.csv", _csv("flag,other,y\ntrue,False,1\nfalse,True,0\nTRUE,false,1\n"), "frame",
             lambda d: d.shape == (3, 3) and d["flag"].tolist() == [True, False, True]),
        Case("thousands separators", "thousands.csv", _csv('city,population\nA,"1,234,567"\nB,"89,012"\n'), "frame",
             lambda d: d["population"].tolist() == [1234567, 89012]),
        Case("semicolons with decimal commas", "euro.csv", _csv("a;b\n1,5;2\n3,25;4\n"), "frame",
             lambda d: d["a"].tolist() == [1.5, 3.25] and d["b"].tolist() == [2, 4]),
        Case("headerless whitespace numbers", "boston_like.txt",
             _csv("".join(f" {i}.00  {i * 2}.5  {i % 3}\n" for i in range(30))), "frame",
             lambda d: d.shape == (30, 3)),
        Case("tab-separated text with stray quotes", "reviews.txt",
             _csv('"Great" food, will return.\t1\nNot "good" at all.\t0\n"Awful\t0\nLoved it "so" much\t1\n'),
             "frame", lambda d: d.shape == (4, 2)),
        Case("invalid JSON", "broken.json", b'{"a": [1, 2, ', "error", says=("JSON",)),
        Case("corrupt parquet", "broken.parquet", b"PAR1" + b"\x00" * 64, "error", says=("Parquet",)),
        Case("unsupported extension", "notes.pdf", b"%PDF-1.4\n%...", "error", says=(".pdf",)),
        Case("a pickle is never unpickled", "model.pkl", b"\x80\x04\x95\x00", "error", says=(".pkl",)),
        Case("NUL bytes in text", "nul.csv", b"a,b\n1,\x00\x00\n", "error", says=("does not look like",)),
        Case("good CSV", "good.csv", _csv(good_csv), "frame", lambda d: d.shape == (60, 3),
             training="trains", target="y"),
        Case("good Parquet", "good.parquet", _parquet(rows), "frame", lambda d: d.shape == (60, 3)),
        Case("good JSON records", "good.json", json.dumps(rows.to_dict(orient="records")).encode(), "frame",
             lambda d: d.shape == (60, 3)),
    ]
    return cases


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()
