"""core.datasets: samples, every reader quirk of the real files, bad input, and URL loading."""

from __future__ import annotations

import contextlib
import http.server
import io
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import SHARED_DATA, needs_shared_data

from core import datasets
from core.datasets import DataError, read_table

# --------------------------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------------------------


def test_every_sample_loads_offline_with_rows_and_a_description():
    for name, description in datasets.SAMPLES.items():
        df = datasets.load_sample(name)
        assert len(df) > 100 and df.shape[1] >= 2, name
        assert description.strip(), name


def test_load_sample_returns_a_fresh_copy():
    first = datasets.load_sample("height_weight")
    first.loc[0, "Height-Inches"] = -1.0
    assert datasets.load_sample("height_weight").loc[0, "Height-Inches"] > 0


def test_unknown_sample_is_a_data_error():
    with pytest.raises(DataError, match="no sample called 'nope'"):
        datasets.load_sample("nope")


def test_height_weight_matches_the_published_statistics():
    df = datasets.load_sample("height_weight")
    assert list(df.columns) == ["Index", "Height-Inches", "Weight-Pounds"]
    assert len(df) == 25_000 and df["Index"].tolist() == list(range(1, 25_001))
    h, w = df["Height-Inches"], df["Weight-Pounds"]
    assert h.mean() == pytest.approx(67.993, abs=0.001)
    assert h.std() == pytest.approx(1.902, abs=0.001)
    assert h.min() == pytest.approx(60.28, abs=0.001) and h.max() == pytest.approx(75.15, abs=0.001)
    assert w.mean() == pytest.approx(127.079, abs=0.001)
    assert w.std() == pytest.approx(11.661, abs=0.001)
    slope, _ = np.polyfit(h, w, 1)
    assert slope == pytest.approx(3.08, abs=0.02)
    assert np.corrcoef(h, w)[0, 1] == pytest.approx(0.50, abs=0.01)


def test_height_weight_linear_regression_test_rmse_is_about_10_1():
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split

    df = datasets.load_sample("height_weight")
    X_train, X_test, y_train, y_test = train_test_split(
        df[["Height-Inches"]], df["Weight-Pounds"], test_size=0.2, random_state=7
    )
    model = LinearRegression().fit(X_train, y_train)
    rmse = float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)))
    assert 9.8 < rmse < 10.4


def test_loan_sample_has_the_real_schema_missing_values_and_a_credit_rule():
    df = datasets.load_sample("loan_applications")
    assert df.shape == (614, 13)
    assert list(df.columns) == [
        "Loan_ID", "Gender", "Married", "Dependents", "Education", "Self_Employed", "ApplicantIncome",
        "CoapplicantIncome", "LoanAmount", "Loan_Amount_Term", "Credit_History", "Property_Area",
        "Loan_Status",
    ]  # fmt: skip
    assert df["Loan_ID"].str.match(r"^LP\d{6}$").all() and df["Loan_ID"].is_unique
    assert set(df["Dependents"].dropna()) == {"0", "1", "2", "3+"}
    assert set(df["Credit_History"].dropna()) == {0.0, 1.0}
    assert set(df["Property_Area"]) == {"Urban", "Semiurban", "Rural"}
    assert (df["Loan_Status"] == "Y").mean() == pytest.approx(0.69, abs=0.03)
    missing = df.isna().sum()
    for column in ["Gender", "Married", "Dependents", "Self_Employed", "LoanAmount", "Loan_Amount_Term", "Credit_History"]:
        assert 0 < missing[column] < 0.1 * len(df), column
    assert missing[["Loan_ID", "Education", "ApplicantIncome", "Property_Area", "Loan_Status"]].sum() == 0
    yes_rate = df.groupby("Credit_History")["Loan_Status"].apply(lambda s: (s == "Y").mean())
    assert yes_rate[0.0] < 0.2 and yes_rate[1.0] > 0.7
    # Incomes are skewed like real incomes: mean above median, a long right tail.
    income = df["ApplicantIncome"]
    assert income.mean() > income.median() and income.max() > 4 * income.median()


def test_sklearn_and_plotly_samples_have_readable_targets():
    assert "disease_progression" in datasets.load_sample("diabetes").columns
    assert set(datasets.load_sample("breast_cancer")["diagnosis"]) == {"malignant", "benign"}
    assert set(datasets.load_sample("iris")["species"]) == {"setosa", "versicolor", "virginica"}
    assert datasets.load_sample("wine")["cultivar"].nunique() == 3
    tips = datasets.load_sample("tips")
    assert tips.columns[-1] == "tip" and not pd.api.types.is_numeric_dtype(tips["day"])


def test_sentiment_sample_is_text_with_balanced_labels():
    from core.schema import column_kind

    df = datasets.load_sample("sentiment_reviews")
    assert column_kind(df["review"]) == "text"
    counts = df["sentiment"].value_counts()
    assert set(counts.index) == {"positive", "negative"} and abs(counts["positive"] - counts["negative"]) < 100


def test_samples_do_not_import_torch_or_shap():
    import subprocess
    import sys

    code = (
        "import sys; from core import datasets; datasets.load_sample('iris'); "
        "datasets.read_table(b'a,b\\n1,2\\n'); print('torch' in sys.modules, 'shap' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# --------------------------------------------------------------------------------------------
# Reader quirks (fixtures copy the real files' quirks)
# --------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_bom_crlf_csv_without_final_newline(tmp_path):
    rows = ["Index,Height-Inches,Weight-Pounds"] + [f"{i},{60 + i * 0.5:.5f},{110 + i:.4f}" for i in range(1, 21)]
    path = write(tmp_path, "hw.csv", b"\xef\xbb\xbf" + "\r\n".join(rows).encode())
    df = read_table(path)
    assert list(df.columns) == ["Index", "Height-Inches", "Weight-Pounds"]
    assert df.shape == (20, 3)
    assert df["Weight-Pounds"].iloc[-1] == pytest.approx(130.0)
    assert pd.api.types.is_integer_dtype(df["Index"])


def test_headerless_whitespace_file_with_leading_space(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 400, size=(30, 14))
    lines = ["".join(f"{v:8.3f}" for v in row) for row in values]
    assert all(line.startswith(" ") for line in lines)
    path = write(tmp_path, "housing.txt", ("\n".join(lines) + "\n").encode("ascii"))
    df = read_table(path)
    assert df.shape == (30, 14)
    assert list(df.columns) == [f"col_{i}" for i in range(1, 15)]
    np.testing.assert_allclose(df.to_numpy(), np.round(values, 3))


def sentences_with_quotes(n: int) -> list[tuple[str, int]]:
    rows = []
    for i in range(n):
        if i % 7 == 3:
            text = f'" The structure of film {i} is tight.  '  # starts with a quote that never closes
        elif i % 5 == 1:
            text = f'But "Storm Trooper {i}" is not even bad enough, sadly.'
        else:
            text = f"Review number {i} was fine, I liked it."
        rows.append((text, i % 2))
    return rows


def test_headerless_tab_sentences_with_stray_quotes_keep_every_line(tmp_path):
    rows = sentences_with_quotes(60)
    path = write(tmp_path, "imdb_like.txt", "".join(f"{t}\t{label}\n" for t, label in rows).encode())
    # The trap this reader avoids: CSV quoting merges lines from each opening quote (or fails).
    try:
        default_rows = len(pd.read_csv(path, sep="\t", header=None))
    except pd.errors.ParserError:
        default_rows = 0
    assert default_rows < len(rows)
    df = read_table(path)
    assert df.shape == (60, 2)
    assert list(df.columns) == ["col_1", "col_2"]
    assert df["col_1"].tolist() == [t for t, _ in rows]
    assert df["col_2"].tolist() == [label for _, label in rows]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_stray_quote_beyond_the_sniffed_head_still_keeps_every_line(tmp_path, newline):
    rows = [(f"Plain sentence number {i} with no quotes at all.", i % 2) for i in range(400)]
    rows[300] = ('" A late quote that never closes.', 1)
    rows[350] = ('"And another one', 0)
    content = "".join(f"{t}\t{label}{newline}" for t, label in rows).encode()
    path = write(tmp_path, "late_quotes.txt", content)
    assert len(read_table(content, name="late.txt")) == 400  # in memory, as an upload
    df = read_table(path)
    assert len(df) == 400
    assert df["col_1"].iloc[300] == rows[300][0]


def test_empty_fields_are_missing_and_3plus_keeps_the_column_text(tmp_path):
    content = (
        "Loan_ID,Gender,Dependents,LoanAmount,Credit_History,Loan_Status\r\n"
        "LP001002,Male,0,,1,Y\r\n"
        "LP001003,,1,128,1,N\r\n"
        "LP001005,Male,3+,66,,Y\r\n"
        "LP001006,Female,2,120,0,N\r\n"
    )
    df = read_table(write(tmp_path, "loan.csv", content.encode()))
    assert df.shape == (4, 6)
    assert df["Gender"].isna().sum() == 1 and df["LoanAmount"].isna().sum() == 1
    assert df["Credit_History"].isna().sum() == 1
    assert df["Dependents"].tolist() == ["0", "1", "3+", "2"]
    assert pd.api.types.is_float_dtype(df["LoanAmount"])


@pytest.mark.parametrize("sep", [";", "|", "\t", ","])
def test_delimiters_are_sniffed(tmp_path, sep):
    lines = [sep.join(["city", "price", "rooms"])]
    lines += [sep.join([f"Town {i}", f"{100 + i}.5", str(i % 4)]) for i in range(15)]
    df = read_table(write(tmp_path, "table.csv", ("\n".join(lines) + "\n").encode()))
    assert list(df.columns) == ["city", "price", "rooms"]
    assert df.shape == (15, 3)
    assert df["price"].iloc[2] == pytest.approx(102.5)


def test_semicolon_file_with_decimal_commas_picks_the_semicolon(tmp_path):
    content = "a;b;c\n1,5;2,25;x\n3,5;4,75;y\n"
    df = read_table(write(tmp_path, "euro.csv", content.encode()))
    assert list(df.columns) == ["a", "b", "c"] and df.shape == (2, 3)


def test_whitespace_file_with_header(tmp_path):
    content = "height weight sex\n60.1 120 m\n 61.5   130 f\n62.0 140 m\n"
    df = read_table(write(tmp_path, "hw.txt", content.encode()))
    assert list(df.columns) == ["height", "weight", "sex"]
    assert df["weight"].tolist() == [120, 130, 140]


def test_latin1_and_cp1252_text(tmp_path):
    content = "name;price\nCafé crème;3,50 €\nNaïve résumé;4\n"
    df = read_table(write(tmp_path, "menu.csv", content.encode("cp1252")))
    assert df["name"].tolist() == ["Café crème", "Naïve résumé"]
    assert df["price"].iloc[0] == "3,50 €"
    latin = "ville,habitants\nMontréal,1700000\nQuébec,550000\n".encode("latin-1")
    assert read_table(write(tmp_path, "villes.csv", latin))["ville"].tolist() == ["Montréal", "Québec"]


def test_non_utf8_byte_after_the_sniffed_head_falls_back_to_cp1252(tmp_path):
    lines = ["word,count"] + [f"plain{i},{i}" for i in range(8000)] + ["déjà,1"]
    path = write(tmp_path, "late.csv", ("\n".join(lines) + "\n").encode("cp1252"))
    assert path.stat().st_size > 64 * 1024
    df = read_table(path)
    assert df.shape == (8001, 2) and df["word"].iloc[-1] == "déjà"


def test_utf8_with_c1_controls_stays_utf8(tmp_path):
    # imdb_labelled.txt holds U+0085/U+0096 encoded as UTF-8: they must not be misread as cp1252.
    content = "Great film\u0085 really.  \t1\nDull \u0096 and long.  \t0\n"
    df = read_table(write(tmp_path, "c1.txt", content.encode("utf-8")))
    assert df["col_1"].tolist() == ["Great film\u0085 really.  ", "Dull \u0096 and long.  "]


def test_mixed_line_endings(tmp_path):
    content = b"a,b\r\n1,x\n2,y\r\n3,z\r4,w"
    df = read_table(write(tmp_path, "mixed.csv", content))
    assert df["a"].tolist() == [1, 2, 3, 4] and df["b"].tolist() == ["x", "y", "z", "w"]


def test_quoted_fields_with_commas_parse_with_quoting_on(tmp_path):
    content = (
        "PassengerId,Survived,Name,Sex,Age\r\n"
        '1,0,"Braund, Mr. Owen Harris",male,22\r\n'
        '2,1,"Cumings, Mrs. John Bradley (Florence Briggs Thayer)",female,38\r\n'
        '3,1,"Johnston, Miss. Catherine Helen ""Carrie""",female,\r\n'
        "4,0,Allen,male,35\r\n"
    )
    df = read_table(write(tmp_path, "titanic.csv", content.encode()))
    assert df.shape == (4, 5)
    assert df["Name"].tolist()[:3] == [
        "Braund, Mr. Owen Harris",
        "Cumings, Mrs. John Bradley (Florence Briggs Thayer)",
        'Johnston, Miss. Catherine Helen "Carrie"',
    ]
    assert df["Age"].isna().sum() == 1


def test_headerless_comma_numbers_and_text_categories(tmp_path):
    numbers = "1.5,2,3\n4.5,5,6\n7.5,8,9\n"
    df = read_table(write(tmp_path, "nums.csv", numbers.encode()))
    assert list(df.columns) == ["col_1", "col_2", "col_3"] and len(df) == 3
    categories = "red,big\nblue,small\nred,small\nblue,big\n"
    df = read_table(write(tmp_path, "cats.csv", categories.encode()))
    assert list(df.columns) == ["col_1", "col_2"] and len(df) == 4


def test_empty_and_unnamed_columns_get_col_n_names_and_header_whitespace_is_stripped(tmp_path):
    content = ",  Rk , PLAYER,\n0,1,Westbrook,x\n1,2,Harden,y\n"
    df = read_table(write(tmp_path, "nba.csv", content.encode()))
    assert list(df.columns) == ["col_1", "Rk", "PLAYER", "col_4"]


def test_numbers_with_thousands_separators_or_decimal_commas_become_numbers(tmp_path):
    df = read_table(write(tmp_path, "amounts.csv", b'amount,code\n"1,234",A1\n"12,500.5",B2\n,C3\n'))
    assert df["amount"].iloc[:2].tolist() == [1234.0, 12500.5] and pd.isna(df["amount"].iloc[2])
    assert df["code"].tolist() == ["A1", "B2", "C3"]
    euro = read_table(write(tmp_path, "euro.csv", b"preis;menge\n3,50;1.234,5\n12,00;7,25\n"))
    assert euro["preis"].tolist() == [3.5, 12.0] and euro["menge"].tolist() == [1234.5, 7.25]
    mixed = read_table(write(tmp_path, "mixed.csv", b'v\n"1,234"\nabout 5\n'))
    assert mixed["v"].tolist() == ["1,234", "about 5"]


def test_an_html_page_is_refused_with_a_hint(tmp_path):
    page = b"<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>\n"
    with pytest.raises(DataError, match="is a web page \\(HTML\\), not a data file"):
        read_table(write(tmp_path, "blob.csv", page))


def test_a_quote_that_never_closes_is_kept_as_text(tmp_path):
    df = read_table(write(tmp_path, "open_quote.csv", b'a,b\n1,"never closed\n2,3\n'))
    assert df["b"].tolist() == ['"never closed', "3"]


def test_single_column_and_all_missing_columns_load(tmp_path):
    single = read_table(write(tmp_path, "one.csv", b"comment\nhello, world\nsecond line\n"))
    assert single.shape == (2, 1) and single["comment"].iloc[0] == "hello, world"
    quoted = read_table(write(tmp_path, "notes.txt", b'note\n"starts with a quote\nplain, with a comma\n'))
    assert quoted["note"].tolist() == ['"starts with a quote', "plain, with a comma"]
    missing = read_table(write(tmp_path, "gaps.csv", b"a,b,c\n1,,x\n2,,y\n"))
    assert missing["b"].isna().all() and missing.shape == (2, 3)


def test_header_one_field_short_keeps_the_row_names_as_a_column(tmp_path):
    content = '"x","y"\n"r1",1,2\n"r2",3,4\n'
    df = read_table(write(tmp_path, "r_style.csv", content.encode()))
    assert list(df.columns) == ["col_1", "x", "y"] and df["col_1"].tolist() == ["r1", "r2"]
    numbered = read_table(write(tmp_path, "r_numbered.csv", b"x,y\n1,10,20\n2,30,40\n"))
    assert numbered["col_1"].tolist() == [1, 2] and numbered["y"].tolist() == [20, 40]


def test_utf16_text_from_a_spreadsheet_export(tmp_path):
    content = "name\tvalue\nä\t1\nö\t2\n".encode("utf-16")
    df = read_table(write(tmp_path, "export.txt", content))
    assert df["name"].tolist() == ["ä", "ö"] and df["value"].tolist() == [1, 2]


def frame_for_round_trips() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "city": ["Oslo", "Lima", None],
            "price": [1.5, np.nan, 3.25],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        }
    )


def test_excel_round_trip(tmp_path):
    original = frame_for_round_trips()
    path = tmp_path / "book.xlsx"
    original.to_excel(path, index=False)
    df = read_table(path)
    assert list(df.columns) == ["id", "city", "price", "when"]
    assert df["id"].tolist() == [1, 2, 3] and pd.api.types.is_integer_dtype(df["id"])
    assert df["city"].iloc[0] == "Oslo" and pd.isna(df["city"].iloc[2])
    assert pd.isna(df["price"].iloc[1]) and df["price"].iloc[2] == 3.25
    assert pd.api.types.is_datetime64_any_dtype(df["when"])


def test_excel_without_header_gets_col_names(tmp_path):
    path = tmp_path / "nums.xlsx"
    pd.DataFrame([[1, 2.5], [3, 4.5]]).to_excel(path, index=False, header=False)
    df = read_table(path)
    assert list(df.columns) == ["col_1", "col_2"] and df.shape == (2, 2)


def test_parquet_round_trip(tmp_path):
    original = frame_for_round_trips()
    path = tmp_path / "data.parquet"
    original.to_parquet(path, index=False)
    df = read_table(path)
    pd.testing.assert_frame_equal(df, original, check_dtype=False)


@pytest.mark.parametrize("orient", ["records", "columns", "split"])
def test_json_round_trips(tmp_path, orient):
    original = frame_for_round_trips().drop(columns="when")
    path = tmp_path / f"{orient}.json"
    original.to_json(path, orient=orient, index=orient == "columns")
    df = read_table(path)
    assert list(df.columns) == ["id", "city", "price"]
    assert df["id"].tolist() == [1, 2, 3]
    assert df["city"].iloc[1] == "Lima" and pd.isna(df["price"].iloc[1])


def test_json_lines(tmp_path):
    original = frame_for_round_trips().drop(columns="when")
    path = tmp_path / "rows.jsonl"
    original.to_json(path, orient="records", lines=True)
    df = read_table(path)
    assert df.shape == (3, 3) and df["price"].iloc[2] == 3.25


def test_bytes_and_uploaded_file_like_inputs():
    content = b"a;b\n1;x\n2;y\n"
    assert read_table(content).shape == (2, 2)

    class Upload(io.BytesIO):
        name = "upload.csv"

    upload = Upload(content)
    upload.read()  # Streamlit may hand over a stream that was read before
    assert read_table(upload)["b"].tolist() == ["x", "y"]
    sheet = io.BytesIO()
    pd.DataFrame({"x": [1, 2]}).to_excel(sheet, index=False)
    assert read_table(sheet.getvalue(), name="sheet.xlsx")["x"].tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# Bad input: one clear sentence each
# --------------------------------------------------------------------------------------------

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n \r\n\t\n", "is empty"),
        ("header.csv", b"a,b,c\r\n", "has a header but no data rows"),
        ("header_no_newline.csv", b"name;value", "has a header but no data rows"),
        ("image.csv", PNG_HEADER + bytes(range(256)), "does not look like a text table"),
        ("garbage.txt", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "does not look like a text table"),
        ("ragged.csv", b"a,b\n1,2\n3,4\n5,6,7\n8,9\n", "Line 4 of ragged.csv has 3 fields where the lines before it have 2"),
        ("dups.csv", b"x,y,x\n1,2,3\n4,5,6\n", "'x' appears 2 times"),
        ("dups_spaces.csv", b"x, x \n1,2\n", "'x' appears 2 times"),
        ("report.pdf", b"%PDF-1.4 whatever", "unsupported file type (.pdf)"),
        ("notes.docx", b"PK\x03\x04rest", "unsupported file type (.docx)"),
        ("model.pkl", b"\x80\x04\x95", "never loaded here because unpickling runs code"),
        ("model.joblib", b"\x80\x04\x95", "never loaded here because unpickling runs code"),
        ("pickle.csv", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.", "pickled Python object"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old .xls workbook"),
        ("fake.xlsx", b"a,b\n1,2\n", "not a valid .xlsx workbook"),
        ("fake.parquet", b"a,b\n1,2\n", "not a valid Parquet file"),
        ("bad.json", b'{"a": [1, 2', "is not valid JSON"),
        ("scalar.json", b"42", "JSON but not a table"),
        ("uneven.json", b'{"a": [1, 2], "b": [1]}', "different lengths"),
        ("unclosed.csv", b'a,b\n1,"x,y never closed\n2,3\n', "never closed"),
    ],
)
def test_bad_input_gives_one_clear_sentence(tmp_path, name, content, message):
    with pytest.raises(DataError) as caught:
        read_table(write(tmp_path, name, content))
    text = str(caught.value)
    assert message in text
    assert "\n" not in text and "Traceback" not in text and len(text) < 300


def test_truncated_xlsx_is_a_data_error(tmp_path):
    buffer = io.BytesIO()
    pd.DataFrame({"a": range(100)}).to_excel(buffer, index=False)
    path = write(tmp_path, "cut.xlsx", buffer.getvalue()[:600])
    with pytest.raises(DataError, match="could not be opened as an Excel workbook"):
        read_table(path)


def test_duplicate_headers_in_excel_are_a_data_error(tmp_path):
    path = tmp_path / "dups.xlsx"
    pd.DataFrame([["a", "a"], [1, 2]]).to_excel(path, index=False, header=False)
    with pytest.raises(DataError, match="'a' appears 2 times"):
        read_table(path)


def test_size_limit_for_paths_bytes_and_streams(tmp_path):
    content = b"a,b\n" + b"1,2\n" * 1000
    path = write(tmp_path, "big.csv", content)
    with pytest.raises(DataError, match=r"big\.csv is .* MB; the limit is .* MB"):
        read_table(path, max_bytes=1000)
    with pytest.raises(DataError, match="the limit is"):
        read_table(content, name="big.csv", max_bytes=1000)
    with pytest.raises(DataError, match="the limit is"):
        read_table(io.BytesIO(content), name="big.csv", max_bytes=1000)
    assert datasets.MAX_BYTES == 200 * 1024 * 1024
    assert read_table(path, max_bytes=len(content)).shape == (1000, 2)


def test_missing_path_and_wrong_type():
    with pytest.raises(DataError, match="There is no file at"):
        read_table("/nonexistent/folder/data.csv")
    with pytest.raises(DataError, match="Cannot read a int"):
        read_table(42)


def test_describe_columns_counts_missing_and_distinct():
    df = pd.DataFrame({"a": [1, 2, None, 2], "b": ["x", None, None, "y"]})
    table = datasets.describe_columns(df, kinds={"b": "text"})
    row_a = table.set_index("column").loc["a"]
    assert row_a["missing"] == 1 and row_a["missing %"] == 25.0 and row_a["distinct"] == 2
    assert row_a["kind"] == "numeric" and row_a["example"] == "1.0"
    assert table.set_index("column").loc["b", "kind"] == "text"


def test_rename_columns_checks_names():
    df = pd.DataFrame({"col_1": [1], "col_2": [2]})
    renamed = datasets.rename_columns(df, {"col_1": " CRIM ", "col_2": "MEDV"})
    assert list(renamed.columns) == ["CRIM", "MEDV"] and list(df.columns) == ["col_1", "col_2"]
    with pytest.raises(DataError, match="is empty"):
        datasets.rename_columns(df, {"col_1": "  "})
    with pytest.raises(DataError, match="'col_2' appears 2 times"):
        datasets.rename_columns(df, {"col_1": "col_2"})
    with pytest.raises(DataError, match="no column 'zzz'"):
        datasets.rename_columns(df, {"zzz": "a"})


# --------------------------------------------------------------------------------------------
# URLs, against a local server on 127.0.0.1
# --------------------------------------------------------------------------------------------

ROUTES: dict[str, tuple[int, bytes, dict[str, str]]] = {
    "/data/loan.csv": (200, b"Loan_ID,Dependents,Loan_Status\nLP1,0,Y\nLP2,3+,N\n", {}),
    "/files/sentences.txt": (200, b'" A quote that never closes\t1\nPlain text\t0\n', {}),
    "/big.csv": (200, b"a\n" + b"1\n" * 5000, {}),
    "/big_no_length.csv": (200, b"a\n" + b"1\n" * 5000, {"no-length": "1"}),
    "/slow.csv": (200, b"a\n1\n", {"delay": "2"}),
    "/redirect": (302, b"", {"Location": "/data/loan.csv"}),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        status, body, headers = ROUTES.get(self.path, (404, b"not here", {}))
        if "delay" in headers:
            time.sleep(float(headers["delay"]))
        self.send_response(status)
        for key, value in headers.items():
            if key not in ("delay", "no-length"):
                self.send_header(key, value)
        if "no-length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # the client may stop reading at its size cap

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def any_address(monkeypatch):
    monkeypatch.setenv(datasets.URL_POLICY_ENV, "any")


def test_url_200_reads_with_the_same_sniffing(server, any_address):
    df = read_table(f"{server}/data/loan.csv")
    assert list(df.columns) == ["Loan_ID", "Dependents", "Loan_Status"]
    assert df["Dependents"].tolist() == ["0", "3+"]
    sentences = datasets.read_url(f"{server}/files/sentences.txt")
    assert sentences.shape == (2, 2) and sentences["col_1"].iloc[0].startswith('" A quote')


def test_url_redirect_is_followed(server, any_address):
    assert read_table(f"{server}/redirect").shape == (2, 3)


def test_url_404_names_the_status_and_url(server, any_address):
    url = f"{server}/missing.csv"
    with pytest.raises(DataError, match=f"The server answered 404 Not Found for {url}"):
        read_table(url)


@pytest.mark.parametrize("path", ["/big.csv", "/big_no_length.csv"])
def test_url_size_cap(server, any_address, path):
    with pytest.raises(DataError, match="the limit is"):
        datasets.read_url(f"{server}{path}", max_bytes=1000)


def test_url_timeout(server, any_address):
    with pytest.raises(DataError, match="did not answer within 0.5 s"):
        datasets.read_url(f"{server}/slow.csv", timeout=0.5)


def test_url_unreachable(any_address):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="Could not reach 127.0.0.1"):
        datasets.read_url(f"http://127.0.0.1:{port}/x.csv", timeout=2)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/data.csv", "data:text/csv,a%0A1", "gopher://x/"]
)
def test_non_http_schemes_are_refused(url):
    with pytest.raises(DataError, match="Only http:// and https:// URLs can be loaded"):
        read_table(url)


def test_default_policy_refuses_local_and_private_addresses(server, monkeypatch):
    monkeypatch.delenv(datasets.URL_POLICY_ENV, raising=False)
    assert datasets.url_policy() == "public"
    with pytest.raises(DataError, match="private or local address"):
        read_table(f"{server}/data/loan.csv")
    for url in ["http://10.1.2.3/a.csv", "http://169.254.169.254/latest", "http://[::1]/a.csv", "http://localhost/a"]:
        with pytest.raises(DataError, match="private or local address"):
            datasets.check_url(url)
    monkeypatch.setenv(datasets.URL_POLICY_ENV, "nonsense")
    assert datasets.url_policy() == "public"


# --------------------------------------------------------------------------------------------
# Cross-checks on the real files (skipped in a fresh clone without ../shared/data)
# --------------------------------------------------------------------------------------------


@needs_shared_data
def test_real_height_weight():
    df = read_table(SHARED_DATA / "height_weight_25k.csv")
    assert df.shape == (25_000, 3) and list(df.columns) == ["Index", "Height-Inches", "Weight-Pounds"]
    assert df["Height-Inches"].mean() == pytest.approx(67.9931, abs=1e-4)
    assert df["Weight-Pounds"].mean() == pytest.approx(127.0794, abs=1e-4)


@needs_shared_data
def test_real_boston_housing():
    df = read_table(SHARED_DATA / "boston_housing.txt")
    assert df.shape == (506, 14)
    assert df.iloc[0].tolist() == pytest.approx(
        [0.00632, 18.0, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296.0, 15.3, 396.9, 4.98, 24.0]
    )
    assert df["col_14"].mean() == pytest.approx(22.5328, abs=1e-4)


@needs_shared_data
@pytest.mark.parametrize("name", ["yelp_labelled.txt", "amazon_cells_labelled.txt", "imdb_labelled.txt"])
def test_real_sentiment_files_keep_every_line(name):
    df = read_table(SHARED_DATA / name)
    assert df.shape == (1000, 2)
    assert df["col_2"].value_counts().to_dict() == {0: 500, 1: 500}
    raw_lines = (SHARED_DATA / name).read_bytes().decode("utf-8").split("\n")[:-1]  # U+0085 is not a line end
    assert df["col_1"].tolist() == [line.rsplit("\t", 1)[0] for line in raw_lines]


@needs_shared_data
def test_real_loan_file():
    df = read_table(SHARED_DATA / "loan_prediction_train.csv")
    assert df.shape == (614, 13)
    expected = {"Gender": 13, "Married": 3, "Dependents": 15, "Self_Employed": 32, "LoanAmount": 22,
                "Loan_Amount_Term": 14, "Credit_History": 50}  # fmt: skip
    assert df.isna().sum()[list(expected)].to_dict() == expected
    assert set(df["Dependents"].dropna()) == {"0", "1", "2", "3+"}
    assert df["Loan_Status"].value_counts().to_dict() == {"Y": 422, "N": 192}


@needs_shared_data
def test_real_nba_file():
    df = read_table(SHARED_DATA / "nba_players.csv")
    assert df.shape == (239, 42)
    assert df.columns[0] == "col_1" and "TWITTER_RETWEET_COUNT" in df.columns
    assert df["3P%"].isna().sum() == 7 and df["FT%"].isna().sum() == 2


@needs_shared_data
def test_real_titanic_file():
    df = read_table(SHARED_DATA / "titanic_train.csv")
    assert df.shape == (891, 12)
    assert df["Name"].iloc[0] == "Braund, Mr. Owen Harris"
    assert df["Survived"].value_counts().to_dict() == {0: 549, 1: 342}
    assert df.isna().sum()[["Age", "Cabin", "Embarked"]].tolist() == [177, 687, 2]


@needs_shared_data
def test_real_files_get_sensible_role_guesses():
    from core.schema import guess_roles

    loan = guess_roles(read_table(SHARED_DATA / "loan_prediction_train.csv"))
    assert loan.target == "Loan_Status" and "Loan_ID" in loan.ignored
    hw = guess_roles(read_table(SHARED_DATA / "height_weight_25k.csv"))
    assert hw.target == "Weight-Pounds" and "Index" in hw.ignored
    yelp = guess_roles(read_table(SHARED_DATA / "yelp_labelled.txt"))
    assert yelp.target == "col_2" and yelp.kinds["col_1"] == "text"
    nba = guess_roles(read_table(SHARED_DATA / "nba_players.csv"))
    assert "col_1" in nba.ignored


def test_first_data_row_longer_than_the_header_is_ragged_not_an_index(tmp_path):
    with pytest.raises(DataError, match="Line 2 of wide.csv has 3 fields where the header has 2"):
        read_table(write(tmp_path, "wide.csv", b"a,b\n1,2,3\n4,5\n6,7\n"))
