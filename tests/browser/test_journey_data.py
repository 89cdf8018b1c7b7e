"""Journey: open the app, load a sample, see its table and a chart, upload through the file chooser."""

from __future__ import annotations

from playwright.sync_api import expect
from support import nav


def test_load_sample_explore_and_upload(page, shots, tmp_path):
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("No data set loaded")).to_be_visible()

    page.get_by_role("button", name="Load sample").click()
    expect(sidebar.get_by_text("height_weight")).to_be_visible()
    expect(sidebar.get_by_text("25,000 rows x 3 columns")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    shots(page, "01-data-sample-loaded")

    nav(page, "Explore")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    shots(page, "02-explore")

    # A headerless tab-separated file with stray quotes, through the real file chooser.
    reviews = tmp_path / "reviews.txt"
    reviews.write_text('"Great" food.\t1\nNot "good" at all.\t0\nLoved it\t1\n"Awful\t0\n')
    nav(page, "Data")
    page.get_by_role("tab", name="Upload a file").click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploaderDropzone").get_by_test_id("stBaseButton-secondary").click()
    chooser.value.set_files(str(reviews))
    expect(sidebar.get_by_text("reviews.txt")).to_be_visible()
    expect(sidebar.get_by_text("4 rows x 2 columns")).to_be_visible()
    shots(page, "03-data-uploaded")
