"""Getting data in: built-in samples, and one reader for files, bytes, uploads and URLs.

`read_table` looks at a small head of the input (at most a few hundred lines) to decide the
format, encoding, delimiter, quoting and whether there is a header, then makes ONE pandas read
with those arguments, so sniffing costs almost nothing on big files. Every problem ends in a
`DataError` whose message is one sentence a person can act on.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import ipaddress
import json
import mmap
import os
import posixpath
import re
import socket
import statistics
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_BYTES = 200 * 1024 * 1024  # same as .streamlit/config.toml maxUploadSize (200 MB)

SUPPORTED_FORMATS = "CSV, TSV or other delimited text, whitespace-separated text, Excel .xlsx, Parquet or JSON"

# Policy for the addresses a URL may resolve to: "public" refuses loopback, private, link-local
# and other non-global addresses (so a URL box cannot reach the server's own network); "any"
# allows everything (tests against a local server, or a trusted intranet deployment).
URL_POLICY_ENV = "WORKBENCH_URL_POLICY"
URL_POLICIES = ("public", "any")

_TEXT_EXTS = {".csv", ".tsv", ".txt", ".tab", ".dat", ".data", ".psv", ".text", ""}
_EXCEL_EXTS = {".xlsx", ".xlsm"}
_PARQUET_EXTS = {".parquet", ".pq"}
_JSON_EXTS = {".json", ".jsonl", ".ndjson"}
_PICKLE_EXTS = {".pkl", ".pickle", ".joblib", ".sav", ".npy", ".npz", ".pt", ".pth"}

# Signatures of binary files that are not tables we read (and must never be parsed as text).
_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Office file (.xls/.doc)",
    b"\x1f\x8b": "a gzip archive",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"\x7fELF": "a program",
    b"MZ": "a Windows program",
}

_SNIFF_BYTES = 64 * 1024
_SNIFF_BYTES_MAX = 8 * 1024 * 1024  # a head with very long lines (thousands of columns) grows to this
_SNIFF_LINES = 200
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PARSER_EOF = re.compile(r"EOF inside string starting at row (\d+)")


class DataError(ValueError):
    """A data set could not be loaded; the message is one sentence saying what to do."""


# --------------------------------------------------------------------------------------------
# Built-in samples
# --------------------------------------------------------------------------------------------

SAMPLES: dict[str, str] = {
    "height_weight": "25,000 people's height (inches) and weight (pounds): simple linear regression.",
    "loan_applications": "614 loan applications with missing values and categories: approve Y/N.",
    "diabetes": "442 diabetes patients, 10 measurements: disease progression after a year (regression).",
    "breast_cancer": "569 tumours, 30 cell measurements: malignant or benign (binary classification).",
    "iris": "150 iris flowers, 4 measurements: which of 3 species (multiclass classification).",
    "wine": "178 wines, 13 chemical measurements: which of 3 cultivars (multiclass classification).",
    "tips": "244 restaurant bills with day, time, smoker and party size: predict the tip.",
    "sentiment_reviews": "1,000 short restaurant reviews labelled positive or negative: text classification.",
}

_HEIGHT = {"mean": 67.993, "sd": 1.902, "min": 60.28, "max": 75.15}
_WEIGHT = {"mean": 127.079, "sd": 11.661}
# Correlation of the published data (slope 3.08 lb/inch = r * 11.661 / 1.902).
_HEIGHT_WEIGHT_CORR = 0.5029


def _standardize(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std(ddof=1)


def _standard_with_range(z: np.ndarray, low: float, high: float) -> np.ndarray:
    """Rescale z to mean 0, sd 1 (ddof=1) exactly, with min exactly `low` and max exactly `high`.

    The two extremes are pinned, and an affine map of the other values restores the mean and sd.
    """
    z = _standardize(z)
    z = np.clip(z, low * 0.98, high * 0.98)
    i_min, i_max = int(np.argmin(z)), int(np.argmax(z))
    others = np.ones(len(z), dtype=bool)
    others[[i_min, i_max]] = False
    rest = z[others]
    n_rest = len(rest)
    shift = -(low + high) / n_rest
    spread = np.sqrt(((len(z) - 1) - low**2 - high**2 - n_rest * shift**2) / ((rest - rest.mean()) ** 2).sum())
    out = np.empty_like(z)
    out[others] = shift + spread * (rest - rest.mean())
    out[i_min], out[i_max] = low, high
    return out


@functools.lru_cache(maxsize=1)
def _height_weight() -> pd.DataFrame:
    rng = np.random.default_rng(20250125)
    n = 25_000
    low = (_HEIGHT["min"] - _HEIGHT["mean"]) / _HEIGHT["sd"]
    high = (_HEIGHT["max"] - _HEIGHT["mean"]) / _HEIGHT["sd"]
    z_height = _standard_with_range(rng.standard_normal(n), low, high)
    # Noise exactly uncorrelated with height, so the correlation is exactly the published one.
    noise = rng.standard_normal(n)
    noise = noise - noise.mean()
    noise -= (noise @ z_height) / (z_height @ z_height) * z_height
    noise = _standardize(noise)
    r = _HEIGHT_WEIGHT_CORR
    z_weight = r * z_height + np.sqrt(1 - r**2) * noise
    return pd.DataFrame(
        {
            "Index": np.arange(1, n + 1),
            "Height-Inches": np.round(_HEIGHT["mean"] + _HEIGHT["sd"] * z_height, 5),
            "Weight-Pounds": np.round(_WEIGHT["mean"] + _WEIGHT["sd"] * z_weight, 4),
        }
    )


# Missing values per column in the real loan file (Analytics Vidhya train set, 614 rows).
_LOAN_MISSING = {
    "Gender": 13,
    "Married": 3,
    "Dependents": 15,
    "Self_Employed": 32,
    "LoanAmount": 22,
    "Loan_Amount_Term": 14,
    "Credit_History": 50,
}


@functools.lru_cache(maxsize=1)
def _loan_applications() -> pd.DataFrame:
    rng = np.random.default_rng(614)
    n = 614
    gender = np.where(rng.random(n) < 0.815, "Male", "Female")
    married = np.where(rng.random(n) < np.where(gender == "Male", 0.72, 0.33), "Yes", "No")
    dependents = np.where(
        married == "Yes",
        rng.choice(["0", "1", "2", "3+"], size=n, p=[0.45, 0.2, 0.23, 0.12]),
        rng.choice(["0", "1", "2", "3+"], size=n, p=[0.8, 0.11, 0.06, 0.03]),
    )
    education = rng.choice(["Graduate", "Not Graduate"], size=n, p=[0.78, 0.22])
    self_employed = rng.choice(["No", "Yes"], size=n, p=[0.86, 0.14])
    # Incomes are log-normal with a long right tail, like the real file (median ~3,800).
    applicant = np.exp(rng.normal(np.log(3600), 0.62, n))
    applicant *= np.where(education == "Graduate", 1.2, 0.85) * np.where(self_employed == "Yes", 1.2, 1.0)
    applicant = np.maximum(np.round(applicant), 150).astype(np.int64)
    coapplicant = np.where(rng.random(n) < 0.45, 0.0, np.round(np.exp(rng.normal(np.log(1900), 0.55, n))))
    total = applicant + coapplicant
    loan_amount = np.exp(rng.normal(np.log(128) + 0.5 * np.log(total / 5400), 0.3, n))
    loan_amount = np.clip(np.round(loan_amount), 9, 700).astype(float)
    term = rng.choice(
        [360.0, 180.0, 480.0, 300.0, 240.0, 84.0, 120.0, 60.0, 36.0, 12.0],
        size=n,
        p=np.array([512, 44, 15, 13, 4, 4, 3, 2, 2, 1]) / 600,
    )
    credit = np.where(rng.random(n) < 0.842, 1.0, 0.0)
    area = rng.choice(["Semiurban", "Urban", "Rural"], size=n, p=np.array([233, 202, 179]) / 614)
    # The rule to learn: a bad credit history means no; otherwise area, marriage, education and
    # the share of income the instalment takes move the odds.
    instalment_share = (loan_amount * 1000 / term) / total
    logit = (
        1.0
        + 0.7 * (area == "Semiurban")
        - 0.45 * (area == "Rural")
        + 0.35 * (married == "Yes")
        + 0.3 * (education == "Graduate")
        - 2.0 * np.clip(instalment_share - 0.25, 0, None)
    )
    p_yes = np.where(credit == 1.0, 1 / (1 + np.exp(-logit)), 0.08)
    status = np.where(rng.random(n) < p_yes, "Y", "N")
    loan_ids = 1002 + np.cumsum(np.concatenate([[0], rng.integers(1, 5, n - 1)]))
    df = pd.DataFrame(
        {
            "Loan_ID": [f"LP{i:06d}" for i in loan_ids],
            "Gender": gender,
            "Married": married,
            "Dependents": dependents,
            "Education": education,
            "Self_Employed": self_employed,
            "ApplicantIncome": applicant,
            "CoapplicantIncome": coapplicant,
            "LoanAmount": loan_amount,
            "Loan_Amount_Term": term,
            "Credit_History": credit,
            "Property_Area": area,
            "Loan_Status": status,
        }
    )
    for column, count in _LOAN_MISSING.items():
        rows = rng.choice(n, size=count, replace=False)
        df[column] = df[column].mask(np.isin(np.arange(n), rows))
    return df


_REVIEW_SUBJECTS = (
    "The food", "The service", "Our waiter", "This place", "The pizza", "The staff", "The steak",
    "The dessert", "The coffee", "The atmosphere", "The burger", "The sushi", "The soup",
    "The bartender", "The salad", "Everything we ordered",
)  # fmt: skip
_REVIEW_GOOD = (
    "was amazing", "was absolutely delicious", "is worth every penny", "made our evening",
    "was friendly and fast", "exceeded my expectations", "was fresh and tasty", "was perfect",
    "was great", "is the best in town", "was wonderful", "was really good",
)  # fmt: skip
_REVIEW_BAD = (
    "was cold and bland", "was a total disappointment", "took forever", "was rude",
    "is overpriced", "was awful", "was not good at all", "made me sick", "was terrible",
    "was stale", "was slow and careless", "was not worth it",
)  # fmt: skip
_REVIEW_GOOD_END = ("", "", "!", " and I will be back.", ", highly recommended.", " - loved it.", " again.")
_REVIEW_BAD_END = ("", "", ".", " and I won't be back.", ", never again.", " - avoid.", " again.")


@functools.lru_cache(maxsize=1)
def _sentiment_reviews() -> pd.DataFrame:
    rng = np.random.default_rng(1000)
    rows = []
    for label, predicates, endings in (
        ("positive", _REVIEW_GOOD, _REVIEW_GOOD_END),
        ("negative", _REVIEW_BAD, _REVIEW_BAD_END),
    ):
        for _ in range(500):
            sentence = (
                f"{rng.choice(_REVIEW_SUBJECTS)} {rng.choice(predicates)}{rng.choice(endings)}".rstrip()
            )
            if not sentence.endswith((".", "!")):
                sentence += "."
            rows.append((sentence, label))
    order = rng.permutation(len(rows))
    df = pd.DataFrame([rows[i] for i in order], columns=["review", "sentiment"])
    # A few mislabelled reviews, as in real data, so no model scores a perfect 100%.
    flip = rng.random(len(df)) < 0.03
    df.loc[flip, "sentiment"] = np.where(df.loc[flip, "sentiment"] == "positive", "negative", "positive")
    return df


def _sklearn_frame(loader: Any, target: str, class_names: bool, **kwargs: Any) -> pd.DataFrame:
    bunch = loader(as_frame=True, **kwargs)
    df = bunch.frame.rename(columns={"target": target})
    if class_names:
        names = np.asarray(bunch.target_names).astype(str)
        df[target] = pd.Series(names[bunch.target.to_numpy()], index=df.index)
    return df


@functools.lru_cache(maxsize=8)
def _sample(name: str) -> pd.DataFrame:
    # Imported here: sklearn and plotly data loaders are only needed when a sample is asked for.
    if name == "height_weight":
        return _height_weight()
    if name == "loan_applications":
        return _loan_applications()
    if name == "sentiment_reviews":
        return _sentiment_reviews()
    if name == "tips":
        import plotly.data

        tips = plotly.data.tips()
        # The tip last, so the role guess (last usable column) picks it as the target.
        return tips[[c for c in tips.columns if c != "tip"] + ["tip"]]
    from sklearn import datasets as sk

    if name == "diabetes":
        # Unscaled values (age in years, BMI), so the what-if form shows numbers people know.
        return _sklearn_frame(sk.load_diabetes, "disease_progression", False, scaled=False)
    if name == "breast_cancer":
        return _sklearn_frame(sk.load_breast_cancer, "diagnosis", True)
    if name == "iris":
        return _sklearn_frame(sk.load_iris, "species", True)
    if name == "wine":
        return _sklearn_frame(sk.load_wine, "cultivar", True)
    raise DataError(f"There is no sample called {name!r}; choose one of: {', '.join(SAMPLES)}.")


def load_sample(name: str) -> pd.DataFrame:
    """A built-in sample data set by name (see SAMPLES); works offline; a fresh copy each call."""
    if name not in SAMPLES:
        raise DataError(f"There is no sample called {name!r}; choose one of: {', '.join(SAMPLES)}.")
    return _sample(name).copy()


# --------------------------------------------------------------------------------------------
# Reading files, bytes and uploads
# --------------------------------------------------------------------------------------------


@dataclass
class _Source:
    """Where the bytes are: a path on disk (read by pandas directly) or bytes in memory."""

    name: str
    ext: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        assert self.path is not None
        with open(self.path, "rb") as f:
            return f.read(n)

    def handle(self) -> str | io.BytesIO:
        """What pandas reads: the path (fastest) or a fresh in-memory stream."""
        return str(self.path) if self.data is None else io.BytesIO(self.data)

    def contains(self, needle: bytes, start: int = 0) -> bool:
        if self.data is not None:
            return self.data.find(needle, start) != -1
        assert self.path is not None
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(needle, start) != -1

    def line_count(self) -> int:
        """Lines in the input, blank ones included (CRLF, LF and lone CR each end one)."""
        lf = cr = crlf = 0
        last = b""
        chunks = [self.data] if self.data is not None else _chunks(self.path)
        for chunk in chunks:
            lf, cr, crlf = lf + chunk.count(b"\n"), cr + chunk.count(b"\r"), crlf + chunk.count(b"\r\n")
            if last == b"\r" and chunk[:1] == b"\n":
                crlf += 1  # a CRLF split across two chunks
            last = chunk[-1:] or last
        return lf + cr - crlf + (0 if last in (b"\n", b"\r", b"") else 1)

    def all_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


def _chunks(path: Path | None, size: int = 16 * 1024 * 1024):
    assert path is not None
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def _too_big(name: str, size: int | None, limit: int) -> DataError:
    what = f"{name} is {_megabytes(size)}" if size is not None else f"{name} is larger than the limit"
    return DataError(f"{what}; the limit is {_megabytes(limit)}, so load a smaller file or a sample of it.")


def _extension(name: str) -> str:
    return Path(name).suffix.lower() if name else ""


def _open_source(src: Any, name: str | None, max_bytes: int | None) -> _Source:
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        display = name or path.name
        if not path.is_file():
            raise DataError(f"There is no file at {path}; check the path.")
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise _too_big(display, size, max_bytes)
        return _Source(name=display, ext=_extension(display), size=size, path=path)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        display = name or "the data"
    elif hasattr(src, "read"):
        display = name or str(getattr(src, "name", "") or "the upload")
        if hasattr(src, "seek"):
            # A stream that cannot seek is read from where it is.
            with contextlib.suppress(OSError, ValueError):
                src.seek(0)
        data = src.read() if max_bytes is None else src.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise DataError(f"Cannot read a {type(src).__name__}; give a path, a URL, bytes or an open binary file.")
    display = Path(display).name or display
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_big(display, len(data) if isinstance(src, (bytes, bytearray, memoryview)) else None, max_bytes)
    return _Source(name=display, ext=_extension(display), size=len(data), data=data)


def _format(source: _Source, head: bytes) -> str:
    """excel, parquet, json or text, from the magic bytes first and the extension second."""
    ext, name = source.ext, source.name
    if ext in _PICKLE_EXTS:
        raise DataError(
            f"{name} is a pickled Python object, which is never loaded here because unpickling runs code; "
            f"export the data as {SUPPORTED_FORMATS}."
        )
    if ext == ".xls":
        raise DataError(f"{name} is an old .xls workbook; save it as .xlsx or CSV and load that.")
    known = _TEXT_EXTS | _EXCEL_EXTS | _PARQUET_EXTS | _JSON_EXTS
    if ext not in known:
        raise DataError(f"{name} has an unsupported file type ({ext}); load {SUPPORTED_FORMATS}.")
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.startswith(b"PAR1"):
        return "parquet"
    if ext in _EXCEL_EXTS:
        raise DataError(f"{name} is not a valid .xlsx workbook (it may be truncated or another format).")
    if ext in _PARQUET_EXTS:
        raise DataError(f"{name} is not a valid Parquet file (it may be truncated or another format).")
    _refuse_binary(name, head)
    if ext in _JSON_EXTS or (ext == "" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")):
        return "json"
    return "text"


def _refuse_binary(name: str, head: bytes) -> None:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{name} does not look like a text table (it is {what}); load {SUPPORTED_FORMATS}.")
    if head.startswith(b"\x80") and len(head) > 1 and head[1] in range(2, 6):
        raise DataError(
            f"{name} is a pickled Python object, which is never loaded here because unpickling runs code."
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text has NUL bytes by design
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise DataError(
            f"{name} is a web page (HTML), not a data file; link to the raw file instead "
            "(on GitHub, the Raw button's address)."
        )
    sample = head[:8192]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > max(2, len(sample) // 20):
        raise DataError(f"{name} does not look like a text table (it has binary content); load {SUPPORTED_FORMATS}.")


def read_table(src: Any, name: str | None = None, max_bytes: int | None = MAX_BYTES) -> pd.DataFrame:
    """Read a table from a path, an http(s) URL, bytes or a binary file-like (e.g. an upload).

    Sniffs the format (delimited text, whitespace text, Excel .xlsx, Parquet, JSON), the text
    encoding, delimiter, quoting and header from a small head, then reads the whole input once.
    Headerless files get columns col_1, col_2, ... Raises DataError with one actionable sentence.
    """
    if isinstance(src, str):
        scheme = _URL_SCHEME.match(src.strip())
        if scheme and ("://" in src or scheme.group(1).lower() in {"data", "javascript", "mailto"}):
            return read_url(src.strip(), max_bytes=max_bytes)
    source = _open_source(src, name, max_bytes)
    if source.size == 0:
        raise DataError(f"{source.name} is empty (0 bytes); choose a file that has data in it.")
    head = source.head(_SNIFF_BYTES)
    kind = _format(source, head)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "excel":
                df = _read_excel(source)
            elif kind == "parquet":
                df = _read_parquet(source)
            elif kind == "json":
                df = _read_json(source)
            else:
                df = _read_text(source, head)
    except DataError:
        raise
    except MemoryError as exc:
        raise DataError(f"{source.name} does not fit in this server's memory; load a smaller file.") from exc
    except Exception as exc:  # a parser's own error: keep its gist, never a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{source.name} could not be read as a table ({reason[:200]}).") from exc
    return _finish(df, source.name)


def _finish(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Clean column names, refuse duplicates and frames with no rows, give a plain RangeIndex."""
    if df.shape[1] == 0:
        raise DataError(f"{name} has no columns; check that it is a table.")
    if not _default_index(df):
        # pandas made the first column the index (a header one field short, as R writes row
        # names): keep it as a column; it gets a col_N name below.
        df = df.reset_index(names=[""] * df.index.nlevels)
    df.columns = _clean_names(list(df.columns))
    _check_unique(df.columns, name)
    if len(df) == 0:
        raise DataError(f"{name} has a header but no data rows; add rows below the header.")
    return df


def _default_index(df: pd.DataFrame) -> bool:
    return isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1


def _clean_names(names: list[Any]) -> list[str]:
    """Strip whitespace; empty or pandas' 'Unnamed: N' names become col_N (N = position from 1)."""
    cleaned = []
    for i, raw in enumerate(names):
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
        if isinstance(raw, float) and float(raw).is_integer():
            text = str(int(raw))  # a number used as a column name in Excel
        if text == "" or _UNNAMED.match(text):
            text = f"col_{i + 1}"
        cleaned.append(text)
    return cleaned


def _check_unique(names: Any, name: str) -> None:
    counts = Counter(str(c) for c in names)
    repeated = [(c, k) for c, k in counts.items() if k > 1]
    if repeated:
        described = ", ".join(f"{c!r} appears {k} times" for c, k in repeated[:3])
        raise DataError(f"Column names in {name} must be unique ({described}); rename them in the file.")


# --- delimited text ---------------------------------------------------------------------------


@dataclass
class _TextDialect:
    encoding: str
    sep: str
    quoting: int
    header: bool
    header_names: list[str] | None
    skipinitialspace: bool


def _detect_encoding(head: bytes, complete: bool) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"  # decodes any byte


def _sample_lines(source: _Source, head: bytes) -> tuple[str, list[str]]:
    """The encoding and up to _SNIFF_LINES complete, non-blank lines from the head of the input."""
    size = _SNIFF_BYTES
    while True:
        complete = len(head) >= source.size
        encoding = _detect_encoding(head, complete)
        text = head.decode(encoding, errors="replace")
        # Only CR/LF end a line, as for pandas; str.splitlines would also split on U+0085 etc.
        lines = _LINE_BREAK.split(text)
        if not complete and lines:
            lines = lines[:-1]  # the last line of a cut head may be partial
        lines = [line for line in lines if line.strip()]
        if complete or len(lines) >= 20 or size >= _SNIFF_BYTES_MAX:
            return encoding, lines[:_SNIFF_LINES]
        size *= 8
        head = source.head(size)


def _split(line: str, sep: str, quoting: int) -> list[str]:
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep, quotechar='"', quoting=quoting))


def _consistency(counts: list[int]) -> tuple[float, int]:
    """Share of lines with the most common field count, and that count."""
    mode = statistics.mode(counts)
    return counts.count(mode) / len(counts), mode


def _ill_quoted(lines: list[str], sep: str) -> bool:
    """True when some field starts with a quote but does not end with one (quotes inside text)."""
    for line in lines:
        for field in line.split(sep):
            f = field.strip()
            if f.startswith('"') and (len(f) < 2 or not f.endswith('"')):
                return True
    return False


def _choose_delimiter(lines: list[str]) -> tuple[str, int]:
    """The separator and the quoting that split the sample lines most consistently."""
    best: tuple[float, int, str, int] | None = None
    for sep in _CANDIDATE_DELIMITERS:
        if not any(sep in line for line in lines):
            continue
        raw_share, raw_mode = _consistency([line.count(sep) + 1 for line in lines])
        quoted_share, quoted_mode = _consistency([len(_split(line, sep, csv.QUOTE_MINIMAL)) for line in lines])
        # Quotes inside unquoted text (reviews, sentences) break CSV quoting: a line that starts
        # with a quote swallows the rest of the file. Read those files with quoting off.
        if raw_share > quoted_share or (raw_share == 1.0 and raw_mode >= 2 and _ill_quoted(lines, sep)):
            share, mode, quoting = raw_share, raw_mode, csv.QUOTE_NONE
        else:
            share, mode, quoting = quoted_share, quoted_mode, csv.QUOTE_MINIMAL
        if mode >= 2 and (best is None or (share, mode) > best[:2]):
            best = (share, mode, sep, quoting)
    if best is not None and best[0] >= 0.9:
        return best[2], best[3]
    white_share, white_mode = _consistency([len(line.split()) for line in lines])
    if white_mode >= 2 and white_share >= 0.9:
        return r"\s+", csv.QUOTE_MINIMAL
    if best is not None and best[0] >= 0.5:
        return best[2], best[3]  # ragged: pandas names the line that does not fit
    # One column: a separator that does not occur, so commas inside values stay in them.
    quoting = csv.QUOTE_NONE if _ill_quoted(lines, "\x1f") else csv.QUOTE_MINIMAL
    return "\x1f", quoting


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _has_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns, judged against the rows below it.

    A text value above a numeric column is a name; a number above a numeric column is data. For
    all-text columns, a first value that repeats below it or reads like a sentence is data.
    """
    first, rest = rows[0], rows[1:]
    names_above_numbers = numbers_above_numbers = 0
    text_votes_data = text_votes_header = 0
    for j, value in enumerate(first):
        value = value.strip()
        below = [r[j].strip() for r in rest if j < len(r) and r[j].strip()]
        if not value or not below:
            continue
        numeric_below = sum(_is_number(v) for v in below) >= 0.9 * len(below)
        if numeric_below:
            if _is_number(value):
                numbers_above_numbers += 1
            else:
                names_above_numbers += 1
        elif not _is_number(value):
            sentence = len(value) > 40 or len(value.split()) >= 5
            if sentence or value in set(below):
                text_votes_data += 1
            else:
                text_votes_header += 1
    if names_above_numbers:
        return True
    if numbers_above_numbers:
        return False
    return text_votes_header >= text_votes_data and text_votes_header > 0


def _sniff_text(lines: list[str], encoding: str) -> _TextDialect:
    sep, quoting = _choose_delimiter(lines)
    rows = [_split(line, sep, quoting) for line in lines]
    # A lone line is a header unless it is all numbers.
    header = _has_header(rows) if len(rows) > 1 else not all(_is_number(v) for v in rows[0] if v.strip())
    names = None
    if header:
        names = [n.strip() for n in rows[0]]
        if quoting == csv.QUOTE_NONE:
            names = [n[1:-1] if len(n) >= 2 and n[0] == n[-1] == '"' else n for n in names]
    skip_space = False
    if sep not in (r"\s+", "\x1f"):
        later = [f for r in rows[1:] for f in r[1:]]
        skip_space = bool(later) and sum(f.startswith(" ") for f in later) >= 0.8 * len(later)
    return _TextDialect(encoding, sep, quoting, header, names, skip_space)


def _check_first_row(lines: list[str], dialect: _TextDialect, name: str) -> None:
    """Refuse a first data row longer than the header unless every row is (R's row names).

    pandas would silently turn the first column into the index in both cases.
    """
    if dialect.sep == "\x1f" or len(lines) < 2:
        return
    rows = [_split(line, dialect.sep, dialect.quoting) for line in lines]
    width = len(rows[0])
    if len(rows[1]) > width and not all(len(r) == width + 1 for r in rows[1:]):
        raise DataError(
            f"Line 2 of {name} has {len(rows[1])} fields where the header has {width}; "
            "fix that line or check the delimiter."
        )


def _parser_error(exc: Exception, name: str) -> DataError:
    message = str(exc)
    fields = _PARSER_FIELDS.search(message)
    if fields:
        expected, line, seen = fields.groups()
        return DataError(
            f"Line {line} of {name} has {seen} fields where the lines before it have {expected}; "
            "fix that line or check the delimiter."
        )
    eof = _PARSER_EOF.search(message)
    if eof:
        return DataError(f"A quote opened in row {eof.group(1)} of {name} is never closed; fix the quoting.")
    return DataError(f"{name} could not be parsed as a table ({message.strip().splitlines()[-1][:200]}).")


def _pandas_read(source: _Source, dialect: _TextDialect, quoting: int, encoding: str) -> pd.DataFrame:
    return pd.read_csv(
        source.handle(),
        sep=dialect.sep,
        header=0 if dialect.header else None,
        quoting=quoting,
        encoding=encoding,
        skipinitialspace=dialect.skipinitialspace,
        engine="c",
    )


def _read_with_fallback(source: _Source, dialect: _TextDialect, quoting: int) -> pd.DataFrame:
    """One read; on a decoding error deeper in the file than the head, retry as cp1252 then Latin-1."""
    encodings = [dialect.encoding] + [e for e in ("cp1252", "latin-1") if e != dialect.encoding]
    if dialect.encoding in ("utf-16", "latin-1"):
        encodings = [dialect.encoding]
    for i, encoding in enumerate(encodings):
        try:
            return _pandas_read(source, dialect, quoting, encoding)
        except UnicodeDecodeError:
            if i == len(encodings) - 1:
                raise
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{source.name} has no rows or columns; choose a file with data in it.") from exc
        except pd.errors.ParserError as exc:
            raise _parser_error(exc, source.name) from exc
    raise AssertionError("unreachable")


def _first_line_end(head: bytes) -> int:
    ends = [i for i in (head.find(b"\n"), head.find(b"\r")) if i != -1]
    return min(ends) + 1 if ends else len(head)


def _expected_rows(source: _Source, header: bool) -> int:
    """Non-blank lines in the whole input, minus the header line."""
    lines = sum(1 for line in source.all_bytes().splitlines() if line.strip())
    return lines - (1 if header else 0)


def _read_text(source: _Source, head: bytes) -> pd.DataFrame:
    encoding, lines = _sample_lines(source, head)
    if not lines:
        raise DataError(f"{source.name} is empty (it has no lines with data); choose a file with data in it.")
    dialect = _sniff_text(lines, encoding)
    if dialect.header and len(lines) == 1 and source.size <= len(head):
        raise DataError(f"{source.name} has a header but no data rows; add rows below the header.")
    if dialect.header_names is not None:
        _check_unique(_clean_names(dialect.header_names), source.name)
        _check_first_row(lines, dialect, source.name)
    may_retry_unquoted = dialect.quoting == csv.QUOTE_MINIMAL and dialect.sep != r"\s+"
    quoted_error: DataError | None = None
    try:
        df: pd.DataFrame | None = _read_with_fallback(source, dialect, dialect.quoting)
    except DataError as exc:
        if not may_retry_unquoted:
            raise
        df, quoted_error = None, exc
    body_start = _first_line_end(head) if dialect.header else 0
    if may_retry_unquoted and source.contains(b'"', body_start):
        # A stray quote beyond the sniffed head makes CSV quoting merge lines silently (or run to
        # the end of the file). If reading without quoting keeps every line, that read is right.
        # Counting line ends is cheap; the exact count (blank lines apart) only runs when rows
        # may have gone missing.
        lines_upper_bound = source.line_count() - (1 if dialect.header else 0)
        lost = df is None or len(df) < lines_upper_bound
        expected = _expected_rows(source, dialect.header) if lost else len(df)
        if df is None or len(df) < expected:
            try:
                unquoted = _read_with_fallback(source, dialect, csv.QUOTE_NONE)
            except DataError:
                unquoted = None
            if (
                unquoted is not None
                and len(unquoted) == expected
                and _default_index(unquoted)  # no row was longer than the header
                and (df is None or unquoted.shape[1] == df.shape[1])
            ):
                df = unquoted
    if df is None:
        assert quoted_error is not None
        raise quoted_error
    if dialect.header_names is not None and len(dialect.header_names) == df.shape[1]:
        df.columns = _clean_names(dialect.header_names)
    elif not dialect.header:
        df.columns = [f"col_{i + 1}" for i in range(df.shape[1])]
    return _iso_dates(_grouped_numbers(df, decimal_comma=dialect.sep == ";"))


_THOUSANDS = re.compile(r"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d{1,3}(\.\d{3})*,\d+\s*$|^\s*[+-]?\d+,\d+\s*$")


def _grouped_numbers(df: pd.DataFrame, decimal_comma: bool) -> pd.DataFrame:
    """Text columns that are all numbers written with separators ("1,234", or "3,50" in a
    semicolon file, as European spreadsheets write them) become numbers."""
    pattern = _DECIMAL_COMMA if decimal_comma else _THOUSANDS
    for column in df.columns:
        values = df[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        present = values.dropna()
        head = present.iloc[:1000]
        # A cheap look at the first values before the whole column is checked.
        if head.empty or not all(isinstance(v, str) for v in head) or not head.str.match(pattern).all():
            continue
        if not all(isinstance(v, str) for v in present) or not present.str.match(pattern).all():
            continue
        text = present.str.strip()
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False) if decimal_comma else (
            text.str.replace(",", "", regex=False)
        )
        df[column] = pd.to_numeric(text, errors="coerce").reindex(values.index)
    return df


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def _iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every value is an ISO date (2024-01-31, or with a time) become datetimes.

    Only the unambiguous ISO form: 01/02/2024 is January 2 in one country and February 1 in
    another, so such columns stay text rather than being guessed wrong.
    """
    for column in df.columns:
        values = df[column]
        if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
            continue
        present = values.dropna()
        if present.empty or not all(isinstance(v, str) for v in present.iloc[:1000]):
            continue
        if not present.iloc[:1000].str.match(_ISO_DATE).all() or not present.str.match(_ISO_DATE).all():
            continue
        parsed = pd.to_datetime(present, format="ISO8601", errors="coerce")
        if parsed.notna().all():
            df[column] = parsed.reindex(values.index)
    return df


# --- Excel, Parquet, JSON ---------------------------------------------------------------------


def _read_excel(source: _Source) -> pd.DataFrame:
    try:
        raw = pd.read_excel(source.handle(), sheet_name=0, header=None, engine="openpyxl")
    except Exception as exc:
        raise DataError(
            f"{source.name} could not be opened as an Excel workbook (it may be damaged or truncated)."
        ) from exc
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise DataError(f"{source.name} has an empty first sheet; put the table on the first sheet.")
    first = raw.iloc[0]
    values = [v for v in first if not pd.isna(v)]
    header = bool(values) and all(isinstance(v, str) for v in values) and len(raw) >= 1
    if header:
        names = _clean_names(list(first))
        _check_unique(names, source.name)
        df = raw.iloc[1:].reset_index(drop=True)
        df.columns = names
    else:
        df = raw.reset_index(drop=True)
        df.columns = [f"col_{i + 1}" for i in range(df.shape[1])]
    return df.infer_objects()


def _read_parquet(source: _Source) -> pd.DataFrame:
    try:
        df = pd.read_parquet(source.handle())
    except Exception as exc:
        raise DataError(f"{source.name} could not be read as Parquet (it may be damaged or truncated).") from exc
    _check_unique(_clean_names(list(df.columns)), source.name)
    return df


def _read_json(source: _Source) -> pd.DataFrame:
    data = source.all_bytes()
    try:
        parsed: Any = json.loads(data)
    except ValueError as exc:
        parsed = _json_lines(data)
        if parsed is None:
            where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise DataError(f"{source.name} is not valid JSON{where}; check the file.") from exc
    if isinstance(parsed, dict) and {"columns", "data"} <= set(parsed):
        df = pd.DataFrame(parsed["data"], columns=parsed["columns"])
    elif isinstance(parsed, dict):
        if all(isinstance(v, (dict, list)) for v in parsed.values()):
            try:
                df = pd.DataFrame(parsed)
            except ValueError as exc:
                raise DataError(f"The columns in {source.name} have different lengths; fix the JSON.") from exc
            df = df.reset_index(drop=True)
        else:
            df = pd.DataFrame([parsed])
    elif isinstance(parsed, list) and parsed and all(isinstance(r, dict) for r in parsed):
        df = pd.DataFrame.from_records(parsed)
    elif isinstance(parsed, list) and parsed and all(isinstance(r, list) for r in parsed):
        df = pd.DataFrame(parsed)
        df.columns = [f"col_{i + 1}" for i in range(df.shape[1])]
    elif isinstance(parsed, list) and not parsed:
        raise DataError(f"{source.name} holds an empty JSON list; it has no rows.")
    else:
        raise DataError(
            f"{source.name} is JSON but not a table; use a list of records or an object of columns."
        )
    _check_unique(_clean_names(list(df.columns)), source.name)
    return df.infer_objects()


def _json_lines(data: bytes) -> list[Any] | None:
    """JSON lines (one object per line), or None when the text is not that either."""
    try:
        records = [json.loads(line) for line in data.splitlines() if line.strip()]
    except ValueError:
        return None
    return records if len(records) > 1 and all(isinstance(r, dict) for r in records) else None


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------


def url_policy() -> str:
    """The address policy for URL loading, from WORKBENCH_URL_POLICY: "public" (default) or "any"."""
    value = os.environ.get(URL_POLICY_ENV, "public").strip().lower()
    return value if value in URL_POLICIES else "public"


def _non_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> urllib.parse.SplitResult:
    """Refuse URLs that are not http(s), have no host, or resolve to addresses the policy forbids."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise DataError(f"{url!r} is not a valid URL; check it.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "a URL without http:// or https://"
        raise DataError(f"Only http:// and https:// URLs can be loaded; {shown} is not allowed.")
    host = parts.hostname
    if not host:
        raise DataError(f"{url} has no host name; check the URL.")
    if url_policy() == "public":
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DataError(f"Could not reach {host}: the name does not resolve.") from exc
        except ValueError as exc:
            raise DataError(f"{url} has an invalid port; check the URL.") from exc
        for info in infos:
            address = str(info[4][0])
            if _non_public(address):
                raise DataError(
                    f"{host} resolves to {address}, a private or local address, and this server only loads "
                    "public URLs; download the file and upload it instead."
                )
    return parts


class _PolicyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to URLs the policy allows (a public URL may redirect to 127.0.0.1)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(url: str, timeout: float = 15, max_bytes: int | None = MAX_BYTES) -> tuple[bytes, str]:
    """The body of an http(s) URL and the file name from its path, within the size cap and timeout."""
    url = url.strip()
    parts = check_url(url)
    host = parts.hostname
    opener = urllib.request.build_opener(_PolicyRedirects())
    request = urllib.request.Request(url, headers={"User-Agent": "ml-workbench/0.1", "Accept": "*/*"})
    name = posixpath.basename(urllib.parse.unquote(parts.path)) or "download"
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if max_bytes is not None and length and length.isdigit() and int(length) > max_bytes:
                raise _too_big(url, int(length), max_bytes)
            chunks, total = [], 0
            while True:
                chunk = response.read(1024 * 1024)
                if not chunk:
                    break
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise _too_big(url, None, max_bytes)
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise DataError(f"The server answered {exc.code} {exc.reason} for {url}.") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DataError(f"{host} did not answer within {timeout:g} s; try again later.") from exc
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise DataError(f"Could not reach {host}: {reason}.") from exc
    except TimeoutError as exc:
        raise DataError(f"{host} did not answer within {timeout:g} s; try again later.") from exc
    except (OSError, ValueError) as exc:  # connection reset mid-body, bad status line
        raise DataError(f"Could not download {url}: {exc}.") from exc
    return b"".join(chunks), name


def read_url(url: str, timeout: float = 15, max_bytes: int | None = MAX_BYTES) -> pd.DataFrame:
    """Download an http(s) URL (size cap, timeout, address policy) and read it like read_table."""
    data, name = fetch_url(url, timeout=timeout, max_bytes=max_bytes)
    return read_table(data, name=name, max_bytes=max_bytes)


# --------------------------------------------------------------------------------------------
# Helpers for the Data page
# --------------------------------------------------------------------------------------------


def describe_columns(df: pd.DataFrame, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per column: name, dtype, kind, missing count and share, distinct values, an example."""
    from core.schema import column_kind

    missing = df.isna().sum()
    rows = []
    for c in df.columns:
        s = df[c]
        present = s.dropna()
        example = "" if present.empty else str(present.iloc[0])
        rows.append(
            {
                "column": str(c),
                "dtype": str(s.dtype),
                "kind": (kinds or {}).get(str(c)) or column_kind(s),
                "missing": int(missing[c]),
                "missing %": round(100 * float(missing[c]) / len(df), 1) if len(df) else 0.0,
                "distinct": int(s.nunique(dropna=True)),
                "example": example[:60] + ("…" if len(example) > 60 else ""),
            }
        )
    return pd.DataFrame(rows, columns=["column", "dtype", "kind", "missing", "missing %", "distinct", "example"])


def rename_columns(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """df with columns renamed old -> new (names stripped); DataError on unknown, empty or duplicate names."""
    columns = [str(c) for c in df.columns]
    unknown = [old for old in mapping if old not in columns]
    if unknown:
        raise DataError(f"There is no column {unknown[0]!r} to rename.")
    new_names = []
    for c in columns:
        new = str(mapping.get(c, c)).strip()
        if not new:
            raise DataError(f"The new name for column {c!r} is empty; give every column a name.")
        new_names.append(new)
    _check_unique(new_names, "the renamed table")
    out = df.copy()
    out.columns = new_names
    return out
