"""The shared porting corpus (real old scripts): where it is, and the mechanical edits a porter makes.

Not run directly; the tests and `python -m legacy_mnist.bench --sections tutorials` read the scripts from
../shared/porting-corpus beside the checkout (from a git worktree: beside the main checkout), or from
$LEGACY_MNIST_PORTING_CORPUS. The scripts are never copied into the project.
"""
from __future__ import annotations

import io
import os
import tokenize
from pathlib import Path

ENV_CORPUS = "LEGACY_MNIST_PORTING_CORPUS"
REPO = Path(__file__).resolve().parents[2]


def _main_checkout() -> Path:
    """The checkout that owns the git directory (differs from REPO in a `git worktree`)."""
    dot_git = REPO / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text().split(":", 1)[1].strip())
        return gitdir.parents[2] if gitdir.parent.name == "worktrees" else REPO
    return REPO


def candidates() -> list[Path]:
    if os.environ.get(ENV_CORPUS):
        return [Path(os.environ[ENV_CORPUS])]
    return [REPO.parent / "shared" / "porting-corpus", _main_checkout().parent / "shared" / "porting-corpus"]


def find_corpus() -> Path | None:
    """The corpus directory (the one holding its README.md), or None."""
    return next((path for path in candidates() if (path / "README.md").is_file()), None)


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with its single occurrence of `old` replaced: a changed corpus file fails loudly, not silently."""
    if text.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r} in the corpus script, found {text.count(old)}")
    return text.replace(old, new)


def python3_prints(source: str) -> str:
    """Python 2 `print x` statements -> `print(x)` calls, the edit 2to3's print fixer makes.

    Works on tokens, so a statement continued over several lines (inside brackets) is closed after its
    last token, and strings that contain "print" are left alone.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    inserts = []  # (row, col, text)
    starts_statement = True
    for i, tok in enumerate(tokens):
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            starts_statement = starts_statement or tok.type == tokenize.NEWLINE
            continue
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            continue
        if starts_statement and tok.type == tokenize.NAME and tok.string == "print" and tokens[i + 1].string != "(":
            end = i + 1
            while tokens[end].type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
                end += 1
            last = next(t for t in reversed(tokens[i + 1:end]) if t.type != tokenize.COMMENT)
            inserts += [(tok.end[0], tok.end[1], "("), (last.end[0], last.end[1], ")")]
        starts_statement = False
    for row, col, text in sorted(inserts, reverse=True):
        line = lines[row - 1]
        rest = line[col:].lstrip(" ") if text == "(" else line[col:]
        lines[row - 1] = line[:col] + text + rest
    return "".join(lines)


def no_break_spaces_to_spaces(source: str) -> str:
    """Leading U+00A0 (no-break spaces pasted from a web page) -> spaces: no Python takes them as indentation."""
    fixed = []
    for line in source.splitlines(keepends=True):
        body = line.lstrip(" \u00a0")
        fixed.append(line[: len(line) - len(body)].replace("\u00a0", " ") + body)
    return "".join(fixed)


def port_v2(source: str) -> str:
    """A paddle.v2 script as a porter leaves it: our import, Python 3 prints, plain-space indentation."""
    source = replace_once(source, "import paddle.v2 as paddle", "import legacy_mnist.v2 as paddle")
    return python3_prints(no_break_spaces_to_spaces(source))


def shrink_v2_train(train_py: str, train_images: int | None, test_images: int | None, passes: int) -> str:
    """The v2 tutorial's train.py cut to `firstn` of its readers and `passes` passes (None: all the data)."""
    if train_images:
        train_py = replace_once(train_py, "paddle.dataset.mnist.train()",
                                f"paddle.reader.firstn(paddle.dataset.mnist.train(), {train_images})")
    if test_images:
        train_py = replace_once(train_py, "paddle.dataset.mnist.test()",
                                f"paddle.reader.firstn(paddle.dataset.mnist.test(), {test_images})")
    return replace_once(train_py, "num_passes=100", f"num_passes={passes}")


def port_hapi(source: str, test_name: str, train_images: int | None = None, test_images: int | None = None) -> str:
    """A 2.x tutorial with the one name changed (and its import); optionally cut with paddle.io.Subset."""
    if source.count("paddle.vision.datasets.MNIST") != 2 or "import paddle\n" not in source:
        raise ValueError("expected a 2.x tutorial making two paddle.vision.datasets.MNIST after `import paddle`")
    source = source.replace("paddle.vision.datasets.MNIST", "legacy_mnist.vision.datasets.MNIST")
    source = source.replace("import paddle\n", "import paddle\nimport legacy_mnist.vision\n", 1)
    return cut_hapi(source, test_name, train_images, test_images)


def hapi_on_paddles_class(source: str, test_name: str, cache: Path, train_images: int | None = None,
                          test_images: int | None = None) -> str:
    """A 2.x tutorial left on Paddle's own paddle.vision.datasets.MNIST, pointed at the IDX files in `cache`
    through image_path/label_path (the one way Paddle's class runs offline): the reference, only Paddle's code."""
    for mode, prefix in (("train", "train"), ("test", "t10k")):
        paths = (f"image_path={str(cache / f'{prefix}-images-idx3-ubyte.gz')!r}, "
                 f"label_path={str(cache / f'{prefix}-labels-idx1-ubyte.gz')!r}, ")
        source = replace_once(source, f"paddle.vision.datasets.MNIST(mode='{mode}'",
                              f"paddle.vision.datasets.MNIST({paths}mode='{mode}'")
    return cut_hapi(source, test_name, train_images, test_images)


def cut_hapi(source: str, test_name: str, train_images: int | None, test_images: int | None) -> str:
    """`train_dataset` and `test_name` cut with paddle.io.Subset right after the test set is made (None: all)."""
    if train_images is None:
        return source
    line = next(line for line in source.splitlines()
                if line.startswith(f"{test_name} = ") and "datasets.MNIST(" in line)
    cut = (f"train_dataset = paddle.io.Subset(train_dataset, range({train_images}))\n"
           f"{test_name} = paddle.io.Subset({test_name}, range({test_images}))")
    return replace_once(source, line + "\n", f"{line}\n{cut}\n")


def seed_hapi(source: str, seed: int) -> str:
    """`paddle.seed`, numpy's and Python's seeds set right after the script's first `import paddle`.

    Model.fit's shuffle is already fixed (DistributedBatchSampler shuffles epoch e with RandomState(e)), so the
    seed fixes the initial parameters and the DataLoader's shuffle: the whole run, on the CPU.
    """
    return source.replace("import paddle\n", f"import paddle\nimport random as _random, numpy as _np\n"
                          f"paddle.seed({seed}); _np.random.seed({seed}); _random.seed({seed})\n", 1)


def without_plots(source: str) -> str:
    """The script without its matplotlib lines (they only draw): for a Python that has no matplotlib."""
    return "".join(line for line in source.splitlines(keepends=True) if "plt" not in line)


def zlib_before_paddle(source: str) -> str:
    """zlib used once before the script imports Paddle 2.6.2, whose import otherwise breaks it for gzip later
    (a crash in inflateReset2 when Paddle's MNIST class opens its .gz files; tests/paddle2_check.py does the same)."""
    return "import zlib\nzlib.decompress(zlib.compress(b'zlib before Paddle 2.x'))\n" + source


def hapi_eval_accuracy(stdout: str) -> float:
    """The accuracy the last `model.evaluate(..., verbose=1)` printed on its last step."""
    import re

    if "Eval begin..." not in stdout or "Eval samples" not in stdout:
        raise ValueError("no model.evaluate output found")
    block = stdout.rsplit("Eval begin...", 1)[1].split("Eval samples", 1)[0]
    return float(re.findall(r" - acc: ([0-9.]+)", block)[-1])


FLUID_IMPORT = "import paddle.fluid as fluid"
MNIST_MODULE = "paddle.dataset.mnist"


def port_fluid(source: str) -> str:
    """A fluid-era script as a porter leaves it: the README's import edits, nothing else.

    `import paddle.fluid as fluid` -> `import legacy_mnist.fluid as fluid` (plus `import legacy_mnist.dataset.mnist`
    where the script reads `paddle.dataset.mnist`, which that name now spells), `from paddle.fluid.X import` ->
    `from legacy_mnist.fluid.X import`, `paddle.utils.plot` -> `legacy_mnist.plot`.
    """
    uses_mnist = MNIST_MODULE in source
    new_import = "import legacy_mnist.fluid as fluid" + ("\nimport legacy_mnist.dataset.mnist" if uses_mnist else "")
    source = replace_once(source, FLUID_IMPORT, new_import)
    source = source.replace("from paddle.fluid.", "from legacy_mnist.fluid.")
    source = source.replace("from paddle.utils.plot import", "from legacy_mnist.plot import")
    return source.replace(MNIST_MODULE, "legacy_mnist.dataset.mnist")


def cut_fluid_readers(source: str, train_images: int, test_images: int) -> str:
    """Every `<mnist>.train()` / `.test()` reader wrapped in `paddle.reader.firstn` (ported or original)."""
    for module in ("legacy_mnist.dataset.mnist", MNIST_MODULE):
        if f"{module}.train()" in source:
            source = source.replace(f"{module}.train()", f"paddle.reader.firstn({module}.train(), {train_images})")
            source = source.replace(f"{module}.test()", f"paddle.reader.firstn({module}.test(), {test_images})")
            return source
    raise ValueError("expected the script to read paddle.dataset.mnist.train()")


def set_constant(source: str, name: str, value) -> str:
    """`NAME = <number>` (its single assignment) set to `value`: the epoch constants of the notebooks."""
    import re

    pattern = re.compile(rf"^(\s*{re.escape(name)} = )\d+", re.M)
    if len(pattern.findall(source)) != 1:
        raise ValueError(f"expected exactly one `{name} = <number>` in the corpus script")
    return pattern.sub(rf"\g<1>{value}", source)


def future_import_first(source: str) -> str:
    """The notebook's mid-file `from __future__ import ...` line moved to line 1 (the README's edit)."""
    lines = source.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("from __future__ import"))
    return lines[index].split("#")[0].rstrip() + "\n" + "".join(lines[:index] + lines[index + 1:])


def run_script(script: Path, timeout: float = 3600, python: str | None = None):
    """`python <script>` from its own directory, as the tutorial's users ran it, with this checkout importable
    (`python`: another interpreter, e.g. a Paddle 2.6.2 virtualenv's; default this one)."""
    import subprocess
    import sys

    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("LEGACY_MNIST_VERBOSE", None)
    return subprocess.run([python or sys.executable, script.name], cwd=script.parent, env=env, capture_output=True, text=True,
                          timeout=timeout)
