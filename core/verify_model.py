"""Child process of artifacts.verify: load a model file fresh and predict rows the app wrote.

Run as `python -m core.verify_model WORKDIR`, where WORKDIR holds model.joblib and rows.pkl.
Only joblib is imported here on purpose: whatever else the file needs (scikit-learn, this
project's core, torch) must come in through unpickling, exactly as on a user's machine.
Writes WORKDIR/predictions.pkl with {"predict": array, "proba": array or None}.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(workdir: str) -> int:
    import joblib

    work = Path(workdir)
    model = joblib.load(work / "model.joblib")
    with open(work / "rows.pkl", "rb") as fh:  # written by the parent app, not by a user
        rows = pickle.load(fh)
    result = {"predict": model.predict(rows), "proba": None}
    if hasattr(model, "predict_proba"):
        try:
            result["proba"] = model.predict_proba(rows)
        except (AttributeError, NotImplementedError):
            result["proba"] = None
    with open(work / "predictions.pkl", "wb") as fh:
        pickle.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
