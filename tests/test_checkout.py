"""The checkout stays clean: what training and the tests write is ignored by git, the shipped models are not.

Run:  python -m pytest -q tests/test_checkout.py
"""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)


def test_user_runs_are_ignored_and_the_shipped_models_are_tracked():
    written = ["inference_model/cnn/model.pdmodel", "inference_model/mlp/metrics.json", "models/cnn/last/meta.json",
               "models/cnn/.lock", "inference_model/cnn.staged-x/model.pdiparams"]
    ignored = git("check-ignore", "--no-index", *written)
    assert sorted(ignored.stdout.split()) == sorted(written), ignored.stdout
    kept = ["models/README.md", "inference_model/README.md", "legacy_mnist/shipped_models/cnn/model.pdmodel"]
    assert git("check-ignore", "--no-index", *kept).stdout == ""
    tracked = set(git("ls-files", "models", "inference_model", "legacy_mnist/shipped_models").stdout.split())
    assert {"models/README.md", "inference_model/README.md"} <= tracked
    assert not {path for path in tracked if path.startswith(("models/", "inference_model/"))
                and not path.endswith("/README.md")}, tracked
    assert {"legacy_mnist/shipped_models/cnn/model.pdmodel", "legacy_mnist/shipped_models/cnn/model.pdiparams",
            "legacy_mnist/shipped_models/cnn/SHA256SUMS"} <= tracked
