"""Batch scoring: column checks in sentences, predictions with probabilities, formula-safe CSV."""

import io

import numpy as np
import pandas as pd
import pytest
from fitted_runs import house_run, loan_frame, loan_run

from core import scoring
from core.scoring import ScoringError


@pytest.fixture(scope="module")
def loan():
    return loan_run()


@pytest.fixture(scope="module")
def house():
    return house_run("linear_regression")


def test_clean_rows_pass_the_check(loan):
    check = scoring.check_rows(loan.X_test, loan.schema)
    assert check.ok and check.errors == []
    assert check.rows == len(loan.X_test)


def test_missing_columns_are_named(loan):
    rows = loan.X_test.drop(columns=["Credit_History", "Married"])
    check = scoring.check_rows(rows, loan.schema)
    assert not check.ok
    assert check.missing == ["Married", "Credit_History"]
    assert check.errors == ["The file is missing 2 columns the model needs: 'Married', 'Credit_History'."]
    with pytest.raises(ScoringError, match="missing 2 columns the model needs: 'Married', 'Credit_History'"):
        scoring.score(loan, rows)


def test_extra_columns_are_ignored_and_listed(loan):
    rows = loan.X_test.assign(Loan_ID="LP1", Notes="x")
    check = scoring.check_rows(rows, loan.schema)
    assert check.ok and check.extra == ["Loan_ID", "Notes"]
    assert "2 extra columns are ignored: 'Loan_ID', 'Notes'." in check.warnings
    scored = scoring.score(loan, rows)
    np.testing.assert_array_equal(scored["prediction"], loan.pipeline.predict(loan.X_test))
    assert list(scored.columns[: rows.shape[1]]) == list(rows.columns)  # the rows come back whole


def test_a_numeric_column_of_words_is_reported_with_examples(loan):
    rows = loan.X_test.head(6).copy()
    rows["ApplicantIncome"] = ["high", "low", "high", "n/a", "5000", "medium"]
    check = scoring.check_rows(rows, loan.schema)
    assert not check.ok
    assert check.errors == [
        "Column 'ApplicantIncome' should hold numbers but 5 of its 6 values are not numbers (e.g. 'high', 'low', 'n/a')."
    ]


def test_a_few_bad_numbers_are_a_warning_not_an_error(loan):
    rows = loan.X_test.head(6).copy()
    rows["LoanAmount"] = ["120", "abc", "99", "130", "101", " 88 "]
    check = scoring.check_rows(rows, loan.schema)
    assert check.ok
    assert check.unparsed["LoanAmount"].startswith("Column 'LoanAmount' has 1 value that is not a number (e.g. 'abc')")
    assert len(scoring.score(loan, rows)) == 6


def test_missing_values_and_unseen_levels_are_counted(loan):
    rows = loan.X_test.head(5).copy()
    rows.loc[rows.index[:2], "Married"] = np.nan
    rows.loc[rows.index[0], "Property_Area"] = "Moon"
    check = scoring.check_rows(rows, loan.schema)
    assert check.ok
    assert check.missing_values["Married"] == 2
    assert check.unseen_levels == {"Property_Area": ["Moon"]}
    assert any("'Property_Area' has levels the model never saw" in w for w in check.warnings)


def test_no_rows_is_an_error(loan):
    check = scoring.check_rows(loan.X_test.iloc[:0], loan.schema)
    assert check.errors == ["The file has no rows to score."]


def test_classifier_scores_carry_one_probability_column_per_class(loan):
    rows = loan_frame(n=40, seed=5)  # a fresh file, target column included: it is just an extra column
    scored = scoring.score(loan, rows)
    X = rows[loan.features]
    assert scored["prediction"].tolist() == loan.pipeline.predict(X).tolist()
    assert scoring.proba_columns(scored) == ["proba_N", "proba_Y"]
    np.testing.assert_allclose(scored[["proba_N", "proba_Y"]].to_numpy(), loan.pipeline.predict_proba(X))
    np.testing.assert_allclose(scored[["proba_N", "proba_Y"]].sum(axis=1), 1.0)


def test_regressor_scores_have_no_probabilities_and_a_bare_pipeline_works(house):
    scored = scoring.score(house.pipeline, house.X_test, schema=house.schema)
    assert scoring.proba_columns(scored) == []
    np.testing.assert_allclose(scored["prediction"], house.pipeline.predict(house.X_test))


def test_a_prediction_column_in_the_file_is_not_overwritten(house):
    rows = house.X_test.head(3).assign(prediction=["a", "b", "c"])
    scored = scoring.score(house, rows)
    assert scored["prediction"].tolist() == ["a", "b", "c"]
    assert "prediction_2" in scored.columns


def test_columns_are_matched_by_their_text_name(house):
    rows = house.X_test.head(4).copy()
    rows.columns = list(rows.columns)  # same names, fresh Index
    assert len(scoring.score(house, rows)) == 4


def test_csv_neutralizes_formulas_and_leaves_numbers_alone():
    df = pd.DataFrame(
        {
            "=cmd|' /C calc'!A0": [1, 2, 3, 4, 5, 6, 7],
            "note": ["=1+2", "+SUM(A1)", "-2+3", "@HYPERLINK(x)", "\tTAB", "plain", "-5"],
            "value": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, -7.0],
            "level": pd.Series(["\rcr", "ok", "=x", None, "+1.5e3", "a", "b"], dtype="str"),
        }
    )
    data = scoring.to_csv_safe(df)
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False)
    assert list(back.columns) == ["'=cmd|' /C calc'!A0", "note", "value", "level"]
    assert back["note"].tolist() == ["'=1+2", "'+SUM(A1)", "'-2+3", "'@HYPERLINK(x)", "'\tTAB", "plain", "-5"]
    assert back["value"].tolist() == [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, -7.0]
    assert back["level"].tolist() == ["'\rcr", "ok", "'=x", "", "+1.5e3", "a", "b"]
    # No line of the file starts a cell with a formula character outside quotes.
    for line in data.decode().split("\r\n")[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "@", "+S")), line


def test_scored_classifier_csv_round_trips(loan):
    scored = scoring.score(loan, loan.X_test.head(10))
    back = pd.read_csv(io.BytesIO(scoring.to_csv_safe(scored)))
    assert back["prediction"].tolist() == scored["prediction"].tolist()
    np.testing.assert_allclose(back["proba_Y"], scored["proba_Y"])
