"""Serve a model file downloaded from the workbench over HTTP, with the material's JSON contract.

    python serve_model.py model.joblib --port 8000
    curl -X POST localhost:8000/predict -H 'Content-Type: application/json' \\
         -d '{"CHAS":{"0":0},"RM":{"0":6.575},"TAX":{"0":296},"PTRATIO":{"0":15.3},"LSTAT":{"0":4.98}}'
    -> {"prediction": [...]}  (plus "classes" and "probabilities" for a classifier)

The body is a pandas "columns" frame: column -> {row key -> value}; a list of row objects works
too. Rows go straight into the fitted Pipeline: its preprocessing was fitted on the training
split and is only applied here. Nothing is refitted on a request (the material's Flask app refit
a StandardScaler on the single incoming row, which scales every row to zeros, so every house got
the same price). GET /health says what is loaded. Errors come back as JSON with one sentence.

Standard library HTTP server only; it needs the model's libraries and this project's `core`
package importable (run it from the project folder). Only load files you trust: joblib runs code
when it loads a file; pass --sha256 to refuse a file whose hash is not the one the Models page showed.
"""

from __future__ import annotations

import argparse
import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `core` importable from anywhere

from core import artifacts, scoring  # noqa: E402
from core.schema import FeatureSchema  # noqa: E402

MAX_BODY_BYTES = 10 * 1024 * 1024


class RequestError(ValueError):
    """A request the model cannot answer; the message is the sentence sent back with a 400."""


def rows_from_body(body: Any) -> pd.DataFrame:
    """The request's rows: {"column": {"row key": value}} (pandas "columns") or [{"column": value}, ...]."""
    if isinstance(body, dict) and body and all(isinstance(v, dict) for v in body.values()):
        return pd.DataFrame(body)
    if isinstance(body, list) and body and all(isinstance(r, dict) for r in body):
        return pd.DataFrame(body)
    raise RequestError(
        'The body must be JSON like {"RM": {"0": 6.575}, "LSTAT": {"0": 4.98}}: '
        "each column maps row keys to values."
    )


class ModelService:
    """A loaded model and what it needs to answer requests; no state changes after loading."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.meta = artifacts.metadata(model)
        self.schema = FeatureSchema.from_dict(self.meta["schema"])
        self.classifier = self.meta["task"] != "regression" and hasattr(model, "predict_proba")

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "model": self.meta.get("label"),
            "run_id": self.meta.get("run_id"),
            "task": self.meta.get("task"),
            "target": self.meta.get("target"),
            "features": self.schema.names,
        }

    def predict(self, body: Any) -> dict[str, Any]:
        rows = rows_from_body(body)
        check = scoring.check_rows(rows, self.schema, source="request")
        if not check.ok:
            raise RequestError(" ".join(check.errors))
        X = rows[self.schema.names]
        answer: dict[str, Any] = {"prediction": artifacts.jsonable(np.asarray(self.model.predict(X)))}
        if self.classifier:
            classes = list(self.model.classes_)
            proba = np.asarray(self.model.predict_proba(X))
            answer["classes"] = artifacts.jsonable(classes)
            answer["probabilities"] = [
                {str(c): float(p) for c, p in zip(classes, row, strict=True)} for row in proba
            ]
        if check.warnings:
            answer["warnings"] = check.warnings
        return answer


def make_handler(service: ModelService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "workbench-model/1"

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.rstrip("/") == "/health":
                self._send(HTTPStatus.OK, service.health())
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error": "Unknown path: use POST /predict or GET /health."})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") != "/predict":
                self._send(HTTPStatus.NOT_FOUND, {"error": "Unknown path: use POST /predict or GET /health."})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length <= 0:
                self._send(HTTPStatus.BAD_REQUEST, {"error": "The request has no body: send the rows as JSON."})
                return
            if length > MAX_BODY_BYTES:
                self._send(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {"error": f"The body is over {MAX_BODY_BYTES // 1024 // 1024} MB: send fewer rows per request."},
                )
                return
            try:
                body = json.loads(self.rfile.read(length).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": f"The body is not valid JSON ({exc})."})
                return
            try:
                self._send(HTTPStatus.OK, service.predict(body))
            except RequestError as exc:
                self._send(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except Exception as exc:  # the model's own complaint: still an answer, never a dropped connection
                self._send(HTTPStatus.BAD_REQUEST, {"error": f"The model could not score these rows: {exc}."})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a workbench model file: POST /predict, GET /health.")
    parser.add_argument("model", help="the .joblib file downloaded from the Models page")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--sha256", default=None, help="refuse the file unless its SHA-256 is this one")
    args = parser.parse_args(argv)
    try:
        model = artifacts.load(Path(args.model), expected_sha256=args.sha256)
        service = ModelService(model)
    except artifacts.ArtifactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((args.host, args.port), make_handler(service))
    host, port = server.server_address[:2]
    print(f"serving {service.meta.get('label')} ({service.meta.get('task')}) on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
