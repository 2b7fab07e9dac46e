"""Docs that run: every ```bash / ```sh / ```python block in README.md and docs/*.md is executed here.

Run:  python -m pytest -q tests/test_docs.py
Convention (docs/index.md): sample output goes in ```text (or ```console, a `$ command` session made by
docs/make_usage_samples.py from real runs); a block that cannot run in a test (minutes long, needs a GPU or
several machines, installs packages) has `<!-- docs-test: skip (reason) -->` on the line above it. Blocks run
one by one, each in its own process, in document order in one directory per document (what a reader pasting
top to bottom would have), which starts with what the docs assume is there after the quick start: an export
in inference_model/cnn/ (the shipped cnn), cnn.onnx, photo.jpg, scans/ and more/.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
NOT_RUN = {"text", "console", "json", "diff", "csv", "toml", "ini", "yaml", "markdown"}
SKIP = re.compile(r"^<!-- docs-test: skip \((?P<reason>[^()]*\S[^()]*)\) -->$")
HOW = ("Fix the block so that it runs as pasted; or, if it cannot run in a test (minutes long, needs a GPU or "
       "several machines, installs packages), put `<!-- docs-test: skip (reason) -->` on the line right above "
       "its opening fence; sample output belongs in a ```text block.")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the reason, when marked

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(`{3,})(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(fence.group(1))
                    and not lines[j].strip("`")), len(lines))
        above = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marked = SKIP.match(above)
        found.append(Block(path, i + 1, fence.group(2).strip().split(" ")[0].lower(), "\n".join(lines[i + 1:end]) + "\n",
                           marked.group("reason") if marked else None))
        i = end + 1
    return found


ALL = [block for path in DOCS for block in blocks(path)]
RUNNABLE = [block for block in ALL if block.lang in RUN and block.skip is None]


def test_every_block_is_tagged_and_every_marker_sits_on_a_block():
    problems = [f"{b.where}: a fence without a language; tag it (```bash, ```python, or ```text for output)"
                for b in ALL if not b.lang]
    problems += [f"{b.where}: unknown fence language {b.lang!r}; use one of {sorted(RUN) + sorted(NOT_RUN)}"
                 for b in ALL if b.lang and b.lang not in RUN and b.lang not in NOT_RUN]
    problems += [f"{b.where}: a skip marker above a ```{b.lang} block, which never runs anyway" for b in ALL
                 if b.skip and b.lang not in RUN]
    for path in DOCS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip().startswith("<!--") and "docs-test" in line and not SKIP.match(line.strip()):
                problems.append(f"{path.relative_to(REPO)}:{number}: malformed marker {line.strip()!r}; "
                                "write `<!-- docs-test: skip (reason) -->`")
    assert not problems, "\n".join(problems)
    assert len(RUNNABLE) >= 8  # the docs do show runnable code, and this test finds it


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, mnist_cache):
    """What the docs assume is in the current directory after the quick start."""
    from legacy_mnist.dataset import load_split
    from legacy_mnist.export import convert_to_onnx
    from legacy_mnist.exported.model_files import SHIPPED_MODELS_DIR
    from legacy_mnist.synthetic import make_photo_set, write_photo_set

    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(SHIPPED_MODELS_DIR / "cnn", root / "inference_model" / "cnn")
    test = load_split("test", log=lambda line: None)
    convert_to_onnx(root / "inference_model" / "cnn", root / "cnn.onnx", test.images[:50])
    photos = make_photo_set(test.images[:12], test.labels[:12], count=12, seed=3)
    for folder, chosen in (("scans", photos[:4]), ("more", [p for p in photos[4:] if p.name.endswith(".png")][:2])):
        write_photo_set(root / folder, chosen)
    jpeg = next(p for p in photos if p.name.endswith(".jpg"))
    (root / "photo.jpg").write_bytes(jpeg.data)
    return root


@pytest.fixture(scope="module")
def workdirs(scratch, tmp_path_factory):
    made: dict[Path, Path] = {}

    def workdir(doc: Path) -> Path:
        if doc not in made:
            made[doc] = Path(shutil.copytree(scratch, tmp_path_factory.mktemp("doc") / doc.stem))
        return made[doc]

    return workdir


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_block_runs(block, workdirs, tmp_path):
    work = workdirs(block.path)
    script = tmp_path / ("block.sh" if RUN[block.lang] == "bash" else "block.py")
    script.write_text(("set -euo pipefail\n" if RUN[block.lang] == "bash" else "") + block.code)
    runner = ["bash", str(script)] if RUN[block.lang] == "bash" else [sys.executable, str(script)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bindir = tmp_path / "bin"  # `python` in a block is this interpreter, as after `pip install .`
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    done = subprocess.run(runner, cwd=work, capture_output=True, text=True, env=env, timeout=240)
    output = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, f"{block.where}: ```{block.lang} block failed (exit {done.returncode}):\n{output}\n{HOW}"
    assert "Traceback" not in done.stderr, f"{block.where}: ```{block.lang} block printed a traceback:\n{output}\n{HOW}"


def _samples_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_usage_samples", REPO / "docs" / "make_usage_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_usage_samples_are_made_from_the_commands_shown():
    samples = _samples_script()
    text = samples.USAGE.read_text(encoding="utf-8")
    stamp = samples.STAMP.search(text)
    assert stamp, "docs/usage.md has no samples stamp: run python docs/make_usage_samples.py"
    assert stamp.group(1) == samples.digest(text), (
        "docs/usage.md: a ```console command changed since its output was made; rerun "
        "python docs/make_usage_samples.py (it reruns every command and rewrites the outputs)")


def test_usage_error_samples_match_a_fresh_run(tmp_path, mnist_cache):
    """The cheapest session, rerun now: its output is what the page shows, line for line."""
    samples = _samples_script()
    text = samples.USAGE.read_text(encoding="utf-8")
    block = next(b for b in samples.FENCE.findall(text) if "$ python -m legacy_mnist.train --model resnet" in b)
    root = tmp_path / "dw"
    samples.prepare_files(root)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="120")
    fresh = samples.run_block(block, None, root / "full", root, env)
    assert fresh.splitlines() == block.splitlines(), "docs/usage.md: rerun python docs/make_usage_samples.py"
