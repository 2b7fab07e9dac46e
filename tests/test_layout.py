"""The package layout keeps its promises: user-facing names, the documented tree, short modules, one-way imports.

Run:  python -m pytest -q tests/test_layout.py
docs/architecture.md is the contract: its tree must list exactly the modules on disk, and the import rules
below are the ones it draws. The user-facing names (commands, console scripts, documented API) are the ones
README.md and docs/ promise; they must not move when the internals do.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import legacy_mnist

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "legacy_mnist"
COMMANDS = ("train", "infer", "evaluate", "export", "bench", "synthetic")
CONSOLE_SCRIPTS = {"legacy-mnist-train": "legacy_mnist.train:cli", "legacy-mnist-infer": "legacy_mnist.infer:cli",
                   "legacy-mnist-evaluate": "legacy_mnist.evaluate:cli", "legacy-mnist-export": "legacy_mnist.export:cli"}
# The Python API as README.md and docs/usage.md document it: module -> names.
DOCUMENTED_API = {
    "legacy_mnist.train": ["train", "TrainResult", "TrainingDiverged", "TrainingInterrupted", "main", "cli"],
    "legacy_mnist.config": ["TrainConfig", "parse_args", "validate"],
    "legacy_mnist.events": ["BeginPass", "EndIteration", "EndPass", "EndTraining"],
    "legacy_mnist.logs": ["BookTextLog", "JsonLog"],
    "legacy_mnist.infer": ["load_model", "predict_files", "iter_predictions", "Prediction", "predict_number",
                           "predict_numbers", "NumberPrediction", "NoNumberError", "main", "cli"],
    "legacy_mnist.evaluate": ["evaluate", "main", "cli"],
    "legacy_mnist.export": ["export_inference_model", "convert_to_onnx", "main", "cli"],
    "legacy_mnist.bench": ["main", "cli"],
    "legacy_mnist.synthetic": ["make_photo_set", "write_photo_set", "main"],
    "legacy_mnist.normalize": ["normalize", "to_model_input"],
    "legacy_mnist.preprocess": ["preprocess_file", "auto_preprocess"],
    "legacy_mnist.paddle_env": ["import_paddle", "ir_guard"],
    "legacy_mnist.errors": ["UserError", "DataError", "ModelError", "PipelineFailure"],
    "legacy_mnist.dataset": ["load_split", "train_val_split", "iterate_batches", "MnistSplit", "ensure_cached",
                             "mnist", "idx"],
    "legacy_mnist.dataset.mnist": ["train", "test"],
    "legacy_mnist.dataset.sources": ["resolve_cache_dir"],
    "legacy_mnist.plot": ["Ploter"],
    "legacy_mnist.vision.datasets": ["MNIST"],
    "legacy_mnist.v2.plot": ["Ploter"],
    "legacy_mnist.fluid.dygraph.base": ["to_variable"],
}
NAMESPACES = ("legacy_mnist.fluid", "legacy_mnist.v2", "legacy_mnist.vision")

# The import direction of docs/architecture.md: each group and the groups its modules may import.
GROUPS = [  # (group, module-name patterns, first match wins)
    ("leaf", ["legacy_mnist", "legacy_mnist.errors", "legacy_mnist.paddle_env", "legacy_mnist.normalize",
              "legacy_mnist.common", "legacy_mnist.common.*"]),
    ("data", ["legacy_mnist.dataset", "legacy_mnist.dataset.*"]),
    ("training", ["legacy_mnist.config", "legacy_mnist.events", "legacy_mnist.logs", "legacy_mnist.training",
                  "legacy_mnist.training.*"]),
    ("exported", ["legacy_mnist.exported", "legacy_mnist.exported.*"]),
    ("inference", ["legacy_mnist.preprocess", "legacy_mnist.inference", "legacy_mnist.inference.*"]),
    ("commands", ["legacy_mnist.train", "legacy_mnist.dist_train", "legacy_mnist.export", "legacy_mnist.infer",
                  "legacy_mnist.evaluate", "legacy_mnist.synthetic"]),
    ("benchmarks", ["legacy_mnist.bench", "legacy_mnist.benchmarks", "legacy_mnist.benchmarks.*"]),
    ("compat", ["legacy_mnist.plot", "legacy_mnist.compat", "legacy_mnist.compat.*", "legacy_mnist.fluid",
                "legacy_mnist.fluid.*", "legacy_mnist.v2", "legacy_mnist.v2.*", "legacy_mnist.vision",
                "legacy_mnist.vision.*"]),
]
PIPELINE = {"leaf", "data", "training", "exported", "inference", "commands"}
MAY_IMPORT = {
    "leaf": {"leaf"},
    "data": {"leaf", "data"},
    "training": {"leaf", "data", "exported", "training"},  # training writes the exported files
    "exported": {"leaf", "exported"},  # the files alone: no training code, no data
    "inference": {"leaf", "exported", "inference"},  # never the network, the program or the training loop
    "commands": PIPELINE,
    "compat": PIPELINE | {"compat"},  # thin translations onto our own stages
    "benchmarks": PIPELINE | {"compat", "benchmarks"},
}
# Known wrong-way edges, each with the reason and the fix (docs/architecture.md, "Known deviations").
KNOWN_CYCLE_EDGES: list[tuple[str, str]] = []  # (importer, imported) fnmatch patterns of a cycle allowed for now
MAX_LINES = 300
REASON = "Why this is long:"
TREE_BEGIN, TREE_END = "<!-- layout:tree:begin -->", "<!-- layout:tree:end -->"


def package_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def group_of(module: str) -> str:
    import fnmatch

    for group, patterns in GROUPS:
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return group
    raise AssertionError(f"{module}: in no group of docs/architecture.md's import direction (tests/test_layout.py)")


def import_edges(modules: dict[str, Path]) -> set[tuple[str, str]]:
    """Every (importer, imported) pair inside the package, module level and inside functions."""
    edges = set()
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[:len(package) - (node.level - 1)]
                    source = ".".join(base + (node.module.split(".") if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    targets.append(full if full in modules else source)
            for target in targets:
                while target and target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name and not name.startswith(target + "."):
                    edges.add((name, target))  # a module always imports its own packages: not an edge
    return edges


def test_every_command_answers_help_and_version():
    """`python -m legacy_mnist.<command> --help / --version`, run the way -m runs them, in one interpreter."""
    code = (
        "import contextlib, io, runpy, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for flag in ('--help', '--version'):\n"
        "        out = io.StringIO()\n"
        "        sys.argv = ['x', flag]\n"
        "        with contextlib.redirect_stdout(out):\n"
        "            try:\n"
        "                runpy.run_module('legacy_mnist.' + name, run_name='__main__', alter_sys=True)\n"
        "                code = 0\n"
        "            except SystemExit as exc:\n"
        "                code = exc.code or 0\n"
        "        print(f'@@ {name} {flag} {code} ' + out.getvalue().replace(chr(10), ' | '), flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code, *COMMANDS], capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    rows = [line.split(" ", 4) for line in done.stdout.splitlines() if line.startswith("@@ ")]
    assert len(rows) == 2 * len(COMMANDS), done.stdout[-2000:] + done.stderr[-2000:]
    for _, name, flag, code, text in rows:
        assert code == "0", (name, flag, text)
        if flag == "--help":
            assert f"legacy_mnist.{name}" in text and "usage:" in text, (name, text[:300])
        else:
            assert legacy_mnist.__version__ in text, (name, text)


def test_console_scripts_resolve():
    setup = (REPO / "setup.py").read_text(encoding="utf-8")
    scripts = dict(re.findall(r'"([\w-]+)\s*=\s*([\w.]+:\w+)"', setup))
    assert scripts == CONSOLE_SCRIPTS
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target


def test_the_launcher_script_is_where_the_docs_say():
    """docs/scaling.md tells users to run `paddle.distributed.launch ... legacy_mnist/dist_train.py`."""
    from legacy_mnist.training.launcher import WORKER_SCRIPT

    assert WORKER_SCRIPT == PACKAGE / "dist_train.py" and WORKER_SCRIPT.is_file()


def _from_import(module, name: str) -> bool:
    """What `from module import name` accepts: an attribute, or else a submodule."""
    if hasattr(module, name):
        return True
    return importlib.util.find_spec(f"{module.__name__}.{name}") is not None


def test_documented_api_imports_from_its_documented_module():
    for module, names in DOCUMENTED_API.items():
        loaded = importlib.import_module(module)
        missing = [n for n in names if not _from_import(loaded, n)]
        assert not missing, f"{module} lacks {missing}"
    for namespace in NAMESPACES:
        importlib.import_module(namespace)


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ModuleNotFoundError:
            continue
        if cut == len(parts):
            return True
        obj = importlib.import_module(module)
        for attr in parts[cut:]:
            if not _from_import(obj, attr) or not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_name_the_docs_mention_exists():
    """Each `legacy_mnist.x.y` in README.md and docs/*.md (and each `from legacy_mnist.x import a`) resolves."""
    unresolved = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        names = set(re.findall(r"(?<![\w/.])legacy_mnist(?:\.[A-Za-z_]\w*)+", text))
        for module, imported in re.findall(r"^\s*from (legacy_mnist[\w.]*) import ([\w, ]+)", text, re.M):
            names.update(f"{module}.{n.strip()}" for n in imported.split(","))
        for name in sorted(names):
            if name.startswith(NAMESPACES):  # their docs also show names that are *not* covered, on purpose
                continue
            if not _resolves(name):
                unresolved.append(f"{doc.name}: {name}")
    assert not unresolved, unresolved


def _tree_paths() -> list[str]:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert TREE_BEGIN in text and TREE_END in text, "docs/architecture.md lost its tree markers"
    block = text.split(TREE_BEGIN, 1)[1].split(TREE_END, 1)[0]
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("```")]
    assert lines[0].strip() == "legacy_mnist/", lines[0]
    stack, paths = ["legacy_mnist"], []
    for line in lines[1:]:
        if line.strip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        del stack[depth:]
        paths.append("/".join(stack + [name.rstrip("/")]) + ("/" if name.endswith("/") else ""))
        if name.endswith("/"):
            stack.append(name.rstrip("/"))
    return paths


def test_architecture_tree_lists_exactly_the_modules_on_disk():
    listed = _tree_paths()
    on_disk = {str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    on_disk |= {str(p.relative_to(REPO)) + "/" for p in PACKAGE.rglob("*")
                if p.is_dir() and p.name != "__pycache__" and "shipped_models" not in p.parts}
    assert len(listed) == len(set(listed)), "listed twice: " + str(sorted({p for p in listed if listed.count(p) > 1}))
    assert sorted(on_disk - set(listed)) == [], "on disk but not in docs/architecture.md's tree"
    assert sorted(set(listed) - on_disk) == [], "in docs/architecture.md's tree but not on disk"


def test_long_modules_say_why():
    offenders = []
    for name, path in package_modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            offenders.append(f"{path.relative_to(REPO)} ({text.count(chr(10))} lines)")
    assert not offenders, f"over {MAX_LINES} lines without a '{REASON}' line in the docstring: {offenders}"


def test_imports_flow_the_documented_way():
    import fnmatch

    modules = package_modules()
    edges = import_edges(modules)
    wrong = sorted(f"{a} ({group_of(a)}) imports {b} ({group_of(b)})" for a, b in edges
                   if group_of(b) not in MAY_IMPORT[group_of(a)])
    assert not wrong, wrong
    known = {(a, b) for a, b in edges
             if any(fnmatch.fnmatchcase(a, x) and fnmatch.fnmatchcase(b, y) for x, y in KNOWN_CYCLE_EDGES)}
    graph: dict[str, set[str]] = {}
    for a, b in edges - known:
        graph.setdefault(a, set()).add(b)
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, cycles


@pytest.mark.parametrize("group", sorted(MAY_IMPORT))
def test_every_group_has_modules(group):
    """A group with no module left means the rules above drifted from the tree."""
    assert any(group_of(m) == group for m in package_modules()), group
