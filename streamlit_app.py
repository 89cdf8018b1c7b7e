"""Entry point: page config, the navigation over pages/, and the sidebar every page shares."""

import os

# Before any scikit-learn import: libgomp's spin-waiting threads turned a 0.2 s histogram gradient
# boosting fit into 5-15 s on a busy 2-core server; passive waiting keeps it at 0.35 s.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from ui.render import md_escape  # noqa: E402
from ui.state import current_data, current_run, show_notices  # noqa: E402

st.set_page_config(page_title="ML Workbench", page_icon=":material/science:", layout="wide")

# Only pages that work are listed; st.navigation turns off pages/ auto-discovery.
PAGES = {
    "Data": [
        st.Page("pages/data.py", title="Data", icon=":material/dataset:", default=True),
        st.Page("pages/explore.py", title="Explore", icon=":material/monitoring:"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/devices.py", title="Compare devices", icon=":material/speed:"),
    ],
    "Use": [
        st.Page("pages/explain.py", title="Explain", icon=":material/lightbulb:"),
        st.Page("pages/predict.py", title="Predict", icon=":material/online_prediction:"),
        st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    ],
}

page = st.navigation(PAGES)

with st.sidebar:
    data = current_data()
    if data is None:
        st.caption("No data set loaded")
    else:
        st.markdown(f"**Data:** {md_escape(data.name)}")
        st.caption(data.shape_text)
    run = current_run()
    if run is not None:
        st.markdown(f"**Model:** {md_escape(run.label)}")
        st.caption(f"run {run.run_id} · {run.task}")

show_notices()
page.run()
