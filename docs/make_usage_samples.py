"""Rewrite the sample output of every ```console block in docs/usage.md from real runs of its commands.

Run:  python docs/make_usage_samples.py            (about 5 minutes on 2 cores; rewrites docs/usage.md)
      python docs/make_usage_samples.py --check    (exit 1 if a command changed since the outputs were made)

The commands run in document order, as a reader following the page would run them, in a fresh directory
that stands for /tmp/dw/full (the page's paths under /tmp/dw point into that scratch tree). A `$ python
NAME.py` whose file does not exist runs the ```python block right above it. Before the first block the
directory gets what the page says it used: nine photos (`python -m legacy_mnist.synthetic photos --count 9`),
a white page (blank.png), a file that is no image (bad.png), a directory that is no export (notexport/),
and the empty directories /tmp/dw/empty and /tmp/dw/nomodel. The stamp line under the page's title records a digest of the commands, which
tests/test_docs.py checks, so a command edited by hand without rerunning this script fails the suite.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
USAGE = REPO / "docs" / "usage.md"
DOC_ROOT = "/tmp/dw"  # how the page writes the scratch tree
STAMP = re.compile(r"^<!-- usage samples: made by docs/make_usage_samples.py, commands sha256 (\w+)(?:, .*)? -->$", re.M)
FENCE = re.compile(r"^```console\n(.*?)^```$", re.M | re.S)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)


def commands(block: str) -> list[str]:
    """The `$ ...` commands of a console block, continuation lines joined as typed."""
    found, current = [], None
    for line in block.splitlines():
        if current is not None:
            current.append(line)
            if not line.endswith("\\"):
                found.append("\n".join(current))
                current = None
        elif line.startswith("$ "):
            if line.endswith("\\"):
                current = [line[2:]]
            else:
                found.append(line[2:])
    return found


def digest(text: str) -> str:
    every = [cmd for block in FENCE.findall(text) for cmd in commands(block)]
    return hashlib.sha256("\n".join(every).encode()).hexdigest()[:16]


def prepare_files(root: Path) -> Path:
    """The directories and small files the page's examples name (no photos): the scratch /tmp/dw/full."""
    from PIL import Image

    full = root / "full"
    for name in ("full", "empty", "nomodel", "full/notexport"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (full / "notexport" / "a.txt").write_text("not an export\n")
    Image.new("RGB", (400, 300), (245, 244, 240)).save(full / "blank.png")
    (full / "bad.png").write_bytes(b"this is not an image\n")
    return full


def prepare(root: Path, env: dict) -> Path:
    full = prepare_files(root)
    subprocess.run([sys.executable, "-m", "legacy_mnist.synthetic", "photos", "--count", "9"], cwd=full, env=env,
                   check=True, capture_output=True)
    return full


def run_block(block: str, preceding_code: str | None, full: Path, root: Path, env: dict) -> str:
    out_lines, last_rc = [], 0
    for command in commands(block):
        out_lines.append("$ " + command)
        if command.strip() == "echo $?":
            out_lines.append(str(last_rc))
            continue
        script = re.match(r"^python (\w+\.py)$", command.strip())
        if script and not (full / script.group(1)).exists() and preceding_code:
            (full / script.group(1)).write_text(preceding_code)
        real = command.replace(DOC_ROOT, str(root))
        done = subprocess.run(["bash", "-c", real], cwd=full, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=900)
        last_rc = done.returncode
        text = done.stdout.replace(str(root), DOC_ROOT).replace(str(REPO), "/path/to/legacy_mnist")
        text = text.replace(str(Path.home()), "~")
        out_lines += text.rstrip("\n").splitlines()
    return "\n".join(out_lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/make_usage_samples.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the stamp against the commands (default: off)")
    args = parser.parse_args(argv)
    text = USAGE.read_text(encoding="utf-8")
    stamp = STAMP.search(text)
    if args.check:
        ok = bool(stamp) and stamp.group(1) == digest(text)
        print("up to date" if ok else "docs/usage.md: commands changed since their outputs were made; rerun "
              "python docs/make_usage_samples.py")
        return 0 if ok else 1
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="120")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="legacy_mnist-usage-") as tmp:
        root = Path(tmp) / "dw"
        full = prepare(root, env)
        pieces, pos = [], 0
        for match in FENCE.finditer(text):
            before = text[pos:match.start()]
            code = PYTHON_BLOCK.findall(before)
            print(f"block at line {text.count(chr(10), 0, match.start()) + 1}", file=sys.stderr, flush=True)
            pieces += [before, "```console\n", run_block(match.group(1), code[-1] if code else None, full, root, env),
                       "```"]
            pos = match.end()
        text = "".join(pieces) + text[pos:]
    line = (f"<!-- usage samples: made by docs/make_usage_samples.py, commands sha256 {digest(text)}, "
            f"{time.strftime('%Y-%m-%d')}, {time.perf_counter() - started:.0f} s -->")
    text = STAMP.sub(line, text) if STAMP.search(text) else text.replace("\n", "\n\n" + line + "\n", 1)
    USAGE.write_text(text, encoding="utf-8")
    print(f"rewrote {USAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
