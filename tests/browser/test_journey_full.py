"""The whole analyst path in a real browser on a real `streamlit run`.

Load the loan sample, explore, train a torch MLP and a gradient boosting model, compare devices,
explain, what-if, batch-score a small file, download the model through the real button, load it
in a fresh Python process and match the page's predictions. Screenshots of every step go to
test-artifacts/screenshots/ (the folder is printed).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from playwright.sync_api import expect
from support import ROOT, choose, nav

from core import datasets

LONG = 180_000  # ms: training and SHAP on a busy 2-core machine


def test_full_analyst_journey(page, shots, tmp_path):
    sidebar = page.get_by_test_id("stSidebar")

    # 1. Data: the loan sample.
    choose(page, "Built-in sample", "loan_applications")
    page.get_by_role("button", name="Load sample").click()
    expect(sidebar.get_by_text("loan_applications")).to_be_visible()
    expect(sidebar.get_by_text("614 rows x 13 columns")).to_be_visible()
    shots(page, "journey-01-data")

    # 2. Explore.
    nav(page, "Explore")
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    shots(page, "journey-02-explore")

    # 3. Train a PyTorch MLP, then gradient boosting (which stays the current model).
    nav(page, "Train")
    choose(page, "Model", "PyTorch MLP")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("heading", name="PyTorch MLP · run")).to_be_visible(timeout=LONG)
    shots(page, "journey-03-train-torch")
    choose(page, "Model", "Gradient boosting")
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("heading", name="Gradient boosting · run")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    expect(page.get_by_text("Leaderboard")).to_be_visible()
    shots(page, "journey-04-train-gbm")

    # 4. Compare devices: CUDA shown disabled with its reason, the timing table appears.
    nav(page, "Compare devices")
    expect(page.get_by_text("no CUDA GPU found").first).to_be_visible()
    page.get_by_role("button", name="Compare devices").click()
    expect(page.get_by_role("heading", name="Side by side")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    shots(page, "journey-05-compare-devices")

    # 5. Explain: importance chart and a waterfall.
    nav(page, "Explain")
    expect(page.get_by_role("heading", name="Which columns drive the model")).to_be_visible(timeout=LONG)
    expect(page.get_by_role("heading", name="Why one row got its prediction")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    shots(page, "journey-06-explain")

    # 6. What-if: submit the form, see a prediction.
    nav(page, "Predict")
    page.get_by_role("button", name="Predict").click()
    expect(page.get_by_role("heading", name="Scenario 1")).to_be_visible(timeout=LONG)
    shots(page, "journey-07-what-if")

    # 7. Batch-score a small file through the real file chooser, download the predictions.
    rows = datasets.load_sample("loan_applications").drop(columns=["Loan_Status"]).head(8)
    rows_path = tmp_path / "new_applications.csv"
    rows.to_csv(rows_path, index=False)
    page.get_by_role("tab", name="Batch scoring").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_test_id("stBaseButton-secondary").click()
    chooser.value.set_files(str(rows_path))
    expect(page.get_by_text("Scored 8 rows.")).to_be_visible(timeout=LONG)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download predictions (CSV)").click()
    predictions_path = tmp_path / "predictions.csv"
    download.value.save_as(predictions_path)
    shots(page, "journey-08-batch-scoring")

    # 8. Models: the file is verified in a separate process before the button is offered.
    nav(page, "Models")
    expect(page.get_by_text("identical predictions").first).to_be_visible(timeout=LONG)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download model (.joblib)").click()
    model_path = tmp_path / "model.joblib"
    download.value.save_as(model_path)
    shots(page, "journey-09-models")

    # 9. A fresh Python process loads the downloaded file and predicts what the page predicted.
    script = (
        "import json, sys, joblib, pandas as pd\n"
        "clf = joblib.load(sys.argv[1])\n"
        "print(json.dumps([str(p) for p in clf.predict(pd.read_csv(sys.argv[2]))]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(model_path), str(rows_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    fresh = json.loads(out.stdout)
    page_predictions = pd.read_csv(predictions_path)["prediction"].astype(str).tolist()
    assert fresh == page_predictions
    assert len(fresh) == 8
