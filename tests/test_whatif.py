"""What-if: the form from the schema, starting rows, one-row predictions equal to the Pipeline's."""


import numpy as np
import pandas as pd
import pytest
from fitted_runs import house_frame, house_run, loan_frame, loan_run, make_run, review_run

from core import whatif
from core.schema import feature_schema
from core.whatif import WhatIfError


@pytest.fixture(scope="module")
def loan():
    return loan_run()


@pytest.fixture(scope="module")
def house():
    return house_run("linear_regression")


def test_fields_for_numbers_categories_text_and_missing_values():
    X = pd.DataFrame(
        {
            "Rooms": [3.5, 6.25, 8.75, np.nan],
            "Floors": [1, 2, 3, 2],
            "Area": pd.Series(["Urban", None, "Rural", "Urban"], dtype="str"),
            "Review": ["a long sentence about the food here", "another long sentence about service", "", "x"],
            "Empty": [np.nan] * 4,
        }
    )
    schema = feature_schema(X, {"Review": "text", "Empty": "numeric"})
    fields = {f.name: f for f in whatif.form_fields(schema)}
    assert list(fields) == ["Rooms", "Floors", "Area", "Review", "Empty"]
    rooms = fields["Rooms"]
    assert (rooms.kind, rooms.min, rooms.max, rooms.default, rooms.integer) == ("number", 3.5, 8.75, 6.25, False)
    assert rooms.allow_missing and "training range 3.5 to 8.75" in rooms.help
    floors = fields["Floors"]
    assert floors.integer and floors.default == 2 and isinstance(floors.default, int) and floors.step == 1
    assert not floors.allow_missing
    area = fields["Area"]
    assert area.kind == "category" and area.levels == ["Rural", "Urban"] and area.default == "Urban"
    assert area.allow_missing
    assert fields["Review"].kind == "text" and fields["Review"].default
    empty = fields["Empty"]
    assert empty.kind == "number" and empty.default is None and empty.help == "every training value was missing"


def test_category_field_lists_every_training_level_including_the_first(loan):
    fields = {f.name: f for f in whatif.form_fields(loan.schema)}
    assert fields["Dependents"].levels == ["0", "1", "2", "3+"]
    assert fields["Property_Area"].levels == ["Rural", "Semiurban", "Urban"]


def test_no_field_for_ignored_columns():
    df = loan_frame(n=200)
    df.insert(0, "Loan_ID", [f"LP{i:06d}" for i in range(len(df))])
    run = make_run(df, "Loan_Status", "logistic_regression")
    names = [f.name for f in whatif.form_fields(run.schema)]
    assert "Loan_ID" not in names and "Loan_Status" not in names
    assert names == run.features


def test_median_row_and_held_out_row(house):
    median = whatif.starting_row(house, "median")
    assert median["RM"] == pytest.approx(house.schema["RM"].median)
    assert median["CHAS"] == 0 and isinstance(median["TAX"], int)
    row = whatif.starting_row(house, 3)
    assert row == pytest.approx(house.X_test.iloc[3].to_dict())
    with pytest.raises(WhatIfError, match=f"numbered 0 to {len(house.X_test) - 1}"):
        whatif.starting_row(house, len(house.X_test))
    with pytest.raises(WhatIfError, match="does not exist"):
        whatif.starting_row(house, -1)


def test_held_out_row_with_missing_values_starts_with_none(loan):
    position = int(np.flatnonzero(loan.X_test["Credit_History"].isna().to_numpy())[0])
    row = whatif.starting_row(loan, position)
    assert row["Credit_History"] is None


def test_what_if_prediction_equals_the_pipeline_on_that_row(house, loan):
    for run in (house, loan):
        for n in (0, 5, 11):
            result = whatif.predict_row(run, whatif.starting_row(run, n), with_waterfall=False)
            expected = run.pipeline.predict(run.X_test.iloc[[n]])[0]
            if run.task == "regression":
                assert result.prediction == pytest.approx(expected, rel=1e-12)
            else:
                assert result.prediction == expected
                proba = run.pipeline.predict_proba(run.X_test.iloc[[n]])[0]
                assert list(result.probabilities) == run.classes
                np.testing.assert_allclose(list(result.probabilities.values()), proba)


def test_edited_rows_change_the_prediction_and_nothing_is_refitted(house):
    start = whatif.starting_row(house, "median")
    low = whatif.predict_row(house, {**start, "RM": 4.5}, start, with_waterfall=False)
    high = whatif.predict_row(house, {**start, "RM": 8.0}, start, with_waterfall=False)
    assert high.prediction > low.prediction + 5  # rooms drive the price in this data
    frame = pd.DataFrame([{**start, "RM": 8.0}])[house.features]
    assert high.prediction == pytest.approx(house.pipeline.predict(frame)[0])
    assert [(c.name, c.start, c.value) for c in high.changes] == [("RM", pytest.approx(start["RM"]), 8.0)]


def test_out_of_range_values_warn_but_still_predict(house, loan):
    start = whatif.starting_row(house, "median")
    result = whatif.predict_row(house, {**start, "RM": 12}, start, with_waterfall=False)
    rm = house.schema["RM"]
    assert result.warnings == [
        f"RM = 12 is outside the training range {whatif.fmt(rm.min)}–{whatif.fmt(rm.max)}; "
        "the prediction is an extrapolation."
    ]
    assert np.isfinite(result.prediction)
    inside = whatif.predict_row(house, start, start, with_waterfall=False)
    assert inside.warnings == [] and inside.changes == []
    odd = whatif.predict_row(loan, {**whatif.starting_row(loan), "Property_Area": "Moon"}, with_waterfall=False)
    assert odd.warnings == ["Property_Area = 'Moon' is a level the model never saw in training."]


def test_missing_and_empty_values_are_imputed_like_training(loan):
    values = {**whatif.starting_row(loan), "Credit_History": None, "Gender": None}
    result = whatif.predict_row(loan, values, with_waterfall=False)
    frame = pd.DataFrame([values])[loan.features]
    assert result.prediction == loan.pipeline.predict(frame)[0]


def test_a_row_without_a_feature_is_refused(house):
    values = whatif.starting_row(house)
    del values["LSTAT"]
    with pytest.raises(WhatIfError, match="no value for LSTAT"):
        whatif.predict_row(house, values, with_waterfall=False)


def test_text_feature_in_the_form_predicts():
    run = review_run()
    assert run.schema["Review"].kind == "text"
    start = whatif.starting_row(run)
    good = whatif.predict_row(run, {**start, "Review": "great food and wonderful place"}, with_waterfall=False)
    bad = whatif.predict_row(run, {**start, "Review": "awful food and rude staff"}, with_waterfall=False)
    assert good.prediction == 1 and bad.prediction == 0


@pytest.mark.parametrize("model", ["linear_regression", "random_forest"])
def test_what_if_row_comes_with_a_waterfall(model):
    run = make_run(house_frame(n=200), "MEDV", model)
    result = whatif.predict_row(run, whatif.starting_row(run, 0))
    assert result.waterfall is not None, result.waterfall_note
    assert result.waterfall_note == ""
    assert len(result.waterfall.data) >= 1


@pytest.mark.parametrize(
    ("model", "params"),
    [("ridge", None), ("gradient_boosting", None), ("torch_mlp", {"hidden_layers": "8", "epochs": 20})],
)
def test_kept_explainer_gives_the_same_waterfall_and_holds_one_run(model, params):
    run = make_run(house_frame(n=200), "MEDV", model, params)
    other = make_run(house_frame(n=200, seed=3), "MEDV", model, params)
    cache: dict = {}
    values = whatif.starting_row(run, 2)
    fresh = whatif.predict_row(run, values)
    kept = whatif.predict_row(run, values, explainer_cache=cache)
    again = whatif.predict_row(run, {**values, "RM": 7.5}, explainer_cache=cache)
    assert len(cache) == 1
    plan = next(iter(cache.values()))
    for a, b in zip(fresh.waterfall.data, kept.waterfall.data, strict=True):
        np.testing.assert_allclose(a.x if a.x is not None else a.y, b.x if b.x is not None else b.y)
    assert again.waterfall is not None and again.prediction != kept.prediction
    assert next(iter(cache.values())) is plan  # reused, not rebuilt
    whatif.predict_row(other, whatif.starting_row(other), explainer_cache=cache)
    assert len(cache) == 1 and next(iter(cache.values())) is not plan
