"""Model vetting: checksums first, then the op allow-list and the program's structure, before native code.

Run:  python -m pytest -q tests/test_model_vetting.py
Programs with an extra `save`/`py_func`/unknown op, a renamed variable, a SHA256SUMS in each form
`sha256sum -c` accepts (and unreadable ones), fixed-batch exports, and the real exports of Paddle 1.8.5 and
2.6.2 (made in their own environments by tests/old_paddle/*.py), which must all pass.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from infer_fixtures import tiny_exports  # noqa: F401 - pytest fixture
from test_reliability import ENV, command, each_case, one_error, run_all

from legacy_mnist.exported import checksums
from legacy_mnist.errors import ModelError
from legacy_mnist.infer import load_model
from legacy_mnist.exported.model_vetting import LEGACY_OPS, vet_onnx_model, vet_program
from legacy_mnist.normalize import to_model_input

REPO = Path(__file__).resolve().parents[1]
OLD_PADDLE = Path(__file__).with_name("old_paddle")


def _framework_pb2():
    from legacy_mnist.paddle_env import import_paddle

    import_paddle()
    from paddle.base.proto import framework_pb2

    return framework_pb2


def rewrite_program(export: Path, change, *, sums: bool = True) -> Path:
    """Apply `change(ProgramDesc)` to an export's program; SHA256SUMS rewritten to match (as an attacker would)."""
    desc = _framework_pb2().ProgramDesc()
    path = export / "model.pdmodel"
    desc.ParseFromString(path.read_bytes())
    change(desc)
    path.write_bytes(desc.SerializeToString())
    if sums:
        write_sums(export)
    else:
        (export / "SHA256SUMS").unlink()
    return export


def write_sums(export: Path, names=("model.pdiparams", "model.pdmodel")) -> None:
    """SHA256SUMS as `sha256sum` writes it, made here (not by the code under test)."""
    (export / "SHA256SUMS").write_text("".join(f"{hashlib.sha256((export / n).read_bytes()).hexdigest()}  {n}\n"
                                               for n in names))


def add_op(op_type: str, **string_attrs):
    """A change that appends an op of `op_type` (reading the prediction, with string attributes) to block 0."""
    def change(desc):
        block = desc.blocks[0]
        fetch = next(op for op in block.ops if op.type == "fetch")
        op = block.ops.add()
        op.type = op_type
        slot = op.inputs.add()
        slot.parameter, slot.arguments[:] = "X", list(fetch.inputs[0].arguments)
        for name, value in string_attrs.items():
            attr = op.attrs.add()
            attr.name, attr.type, attr.s = name, 2, value  # AttrType STRING
    return change


def copy_export(tiny_exports, tmp_path, name: str) -> Path:  # noqa: F811
    return Path(shutil.copytree(tiny_exports.legacy, tmp_path / name))


# --------------------------------------------------------------------------------------------- the list
def shipped_programs() -> list[Path]:
    root = REPO / "legacy_mnist" / "shipped_models"
    return sorted(p for p in root.glob("*/model.*") if p.suffix in (".pdmodel", ".json"))


def test_every_shipped_model_passes_vetting():
    programs = shipped_programs()
    assert programs, "no shipped model found"
    for program in programs:
        fmt = "pir" if program.suffix == ".json" else "legacy"
        info = vet_program(program.read_bytes(), fmt, str(program))
        assert info.feeds[0].name == "img" and info.fixed_batch is None, program
        assert checksums.verify(program.parent, {program.name: program.read_bytes(),
                                                 "model.pdiparams": (program.parent / "model.pdiparams").read_bytes()},
                                required=True), program


def _old_python(variable: str) -> str:
    python = os.environ.get(variable, "")
    if not python:
        message = f"{variable} is not set: point it at that Paddle's python (see tests/old_paddle/)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return python


@pytest.mark.parametrize("variable, script", [("LEGACY_MNIST_PADDLE18_PYTHON", "export_fluid18.py"),
                                              ("LEGACY_MNIST_PADDLE2_PYTHON", "export_paddle26.py")])
def test_real_exports_of_paddle_18_and_26_pass_vetting(variable, script, tmp_path, mnist_cache):
    python = _old_python(variable)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLAGS_enable_pir_api")}
    env["GLOG_minloglevel"] = "3"
    done = subprocess.run([python, str(OLD_PADDLE / script), str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    programs = sorted(p for p in tmp_path.glob("*/*") if p.name in ("__model__", "model", "model.pdmodel"))
    assert len(programs) >= 7, programs
    seen = set()
    for program in programs:
        info = vet_program(program.read_bytes(), "legacy", str(program))
        seen.update(info.op_types)
        # TracedLayer fixes the batch at the traced input's; everything else takes any batch size
        assert info.fixed_batch == (1 if program.parent.name == "aistudio_traced" else None), program
    assert seen <= LEGACY_OPS and {"conv2d", "pool2d", "softmax", "feed", "fetch"} <= seen
    images = to_model_input(np.zeros((3, 28, 28), np.uint8))
    for program in tmp_path.glob("*/model.pdmodel"):  # the 2.x layout loads here as our own exports do
        probs = load_model(program.parent, "executor").predict(images)
        assert probs.shape == (3, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-4), program


# ------------------------------------------------------------------------------------ refused by name
def test_ops_outside_the_allow_list_are_refused_by_name(tiny_exports, tmp_path):  # noqa: F811
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.fromarray(np.asarray(tiny_exports.images[0])).save(image)
    save = rewrite_program(copy_export(tiny_exports, tmp_path, "save"), add_op("save", file_path=str(victim)))
    unknown = rewrite_program(copy_export(tiny_exports, tmp_path, "unknown"), add_op("no_such_op"))
    results = run_all({
        "infer": command("infer", "--model-dir", save, image),
        "evaluate": command("evaluate", "--model-dir", save, "--limit", "10"),
        "export": command("export", "--model-dir", save, "--onnx", tmp_path / "x.onnx", "--check-images", "10"),
        "infer, unregistered op": command("infer", "--model-dir", unknown, image),  # the issue: a segfault
    }, env=ENV)
    assert victim.read_bytes() == b"keep me", "the save op ran: it overwrote the file named in it"

    def refused(name, done):
        op_type, where = ("no_such_op", unknown) if "unregistered" in name else ("save", save)
        one_error(done, 2, f"{where / 'model.pdmodel'}: contains op type '{op_type}'", case=name)

    each_case(results, refused)
    assert not (tmp_path / "x.onnx").exists()
    for op_type in ("py_func", "print", "load", "save_combine", "no_such_op", "while", "conditional_block"):
        export = rewrite_program(copy_export(tiny_exports, tmp_path, op_type), add_op(op_type))
        for backend in ("executor", "predictor"):
            with pytest.raises(ModelError, match=f"contains op type '{op_type}'"):
                load_model(export, backend)


def test_sub_blocks_and_file_attributes_are_refused(tiny_exports, tmp_path):  # noqa: F811
    def second_block(desc):
        block = desc.blocks.add()
        block.idx, block.parent_idx = 1, 0

    two = rewrite_program(copy_export(tiny_exports, tmp_path, "two"), second_block)
    with pytest.raises(ModelError, match="has 2 blocks"):
        load_model(two, "executor")

    def block_attr(desc):
        attr = next(op for op in desc.blocks[0].ops if op.type == "relu").attrs.add()
        attr.name, attr.type, attr.block_idx = "sub_block", 8, 0  # AttrType BLOCK

    sub = rewrite_program(copy_export(tiny_exports, tmp_path, "sub"), block_attr)
    with pytest.raises(ModelError, match="refers to a sub-block"):
        load_model(sub, "executor")

    def stride_zero(desc):
        conv = next(op for op in desc.blocks[0].ops if op.type == "conv2d")
        strides = next(a for a in conv.attrs if a.name == "strides")
        strides.ints[:] = [0, 0]

    zero = rewrite_program(copy_export(tiny_exports, tmp_path, "zero"), stride_zero)
    with pytest.raises(ModelError, match=r"strides=\[0, 0\] outside \[1, 1024\]"):
        load_model(zero, "predictor")

    def path_in_name(desc):
        for var in desc.blocks[0].vars:
            if var.name == "conv2d_0.w_0":
                var.name = "../../conv2d_0.w_0"
        for op in desc.blocks[0].ops:
            for slot in op.inputs:
                slot.arguments[:] = ["../../conv2d_0.w_0" if a == "conv2d_0.w_0" else a for a in slot.arguments]

    traversal = rewrite_program(copy_export(tiny_exports, tmp_path, "traversal"), path_in_name)
    with pytest.raises(ModelError, match="parameter name '../../conv2d_0.w_0' is not a plain name"):
        load_model(traversal, "executor")


def test_a_changed_byte_in_the_program_is_one_line_not_a_crash(tiny_exports, tmp_path):  # noqa: F811
    """The issue's segfaults: one byte of a variable name changed, so an op names a variable the program does
    not declare. With SHA256SUMS kept: the checksum; without: the dangling name. Never exit 139."""
    data = (tiny_exports.legacy / "model.pdmodel").read_bytes()
    where = data.index(b"batch_norm_0.w_1", data.index(b"batch_norm_0.w_1") + 1)  # in an op, not the var list
    damaged = data[:where + 6] + b"\x0f" + data[where + 7:]
    kept = copy_export(tiny_exports, tmp_path, "kept_sums")
    (kept / "model.pdmodel").write_bytes(damaged)
    no_sums = copy_export(tiny_exports, tmp_path, "no_sums")
    (no_sums / "model.pdmodel").write_bytes(damaged)
    (no_sums / "SHA256SUMS").unlink()
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.fromarray(np.asarray(tiny_exports.images[0])).save(image)
    results = run_all({
        "infer, sums kept": command("infer", "--model-dir", kept, image),
        "evaluate, sums kept": command("evaluate", "--model-dir", kept, "--limit", "10"),
        "infer, no sums": command("infer", "--model-dir", no_sums, image),
        "export, no sums": command("export", "--model-dir", no_sums, "--onnx", tmp_path / "x.onnx"),
    }, env=ENV)
    each_case(results, lambda name, done: one_error(
        done, 2, f"{(kept if 'kept' in name else no_sums) / 'model.pdmodel'}: ", "does not declare", case=name))
    # A damage the structure cannot see (an attribute string) is the checksum's to find.
    quiet = data.replace(b"NCHW", b"NCHX", 1)
    (kept / "model.pdmodel").write_bytes(quiet)
    with pytest.raises(ModelError, match="data_format"):
        load_model(kept, "executor")
    namescope = data.replace(b'\x2a\x01/', b'\x2a\x01+', 1)  # an op_namescope "/" -> "+": harmless, not ours
    assert namescope != data
    (kept / "model.pdmodel").write_bytes(namescope)
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        load_model(kept, "predictor")


# ------------------------------------------------------------------------------------------- checksums
def _sums_forms(names_digests: dict[str, str]) -> dict[str, str]:
    def each(template):
        return "".join(template.format(d=d, n=n) for n, d in names_digests.items())

    return {
        "text": each("{d}  {n}\n"), "binary (--binary)": each("{d} *{n}\n"), "tag (--tag)": each("SHA256 ({n}) = {d}\n"),
        "one space": each("{d} {n}\n"), "tab": each("{d}\t{n}\n"), "upper case": each("{d}  {n}\n").upper().replace(
            "MODEL.PDMODEL", "model.pdmodel").replace("MODEL.PDIPARAMS", "model.pdiparams"),
        "CRLF and no final newline": each("{d}  {n}\r\n").rstrip("\n"), "./ names": each("{d}  ./{n}\n"),
        "comments and blank lines": "# made by hand\n\n" + each("{d}  {n}\n") + "\n",
        "escaped (leading backslash)": each("\\{d}  {n}\n"),
    }


def test_every_form_sha256sum_accepts_is_checked(tiny_exports, tmp_path):  # noqa: F811
    """The issue: a SHA256SUMS by `sha256sum --binary` or `--tag` was ignored and a damaged .pdiparams loaded.
    End to end first (each form, a good export loads, the damaged one is refused), then the checker itself."""
    files = {n: (tiny_exports.legacy / n).read_bytes() for n in ("model.pdmodel", "model.pdiparams")}
    digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    damaged = dict(files, **{"model.pdiparams": files["model.pdiparams"][:-8] + bytes(8)})
    directories = {form: tmp_path / f"form{index}" for index, form in enumerate(_sums_forms(digests))}

    def checked(form, text):
        directory = directories[form]
        directory.mkdir()
        for name, data in files.items():
            (directory / name).write_bytes(data)
        (directory / "SHA256SUMS").write_text(text, newline="")
        if shutil.which("sha256sum"):
            real = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=directory, capture_output=True, text=True)
            assert real.returncode == 0, (form, real.stdout, real.stderr)
        assert load_model(directory, "executor").predict(to_model_input(tiny_exports.images[:2])).shape == (2, 10)
        (directory / "model.pdiparams").write_bytes(damaged["model.pdiparams"])
        with pytest.raises(ModelError, match="model.pdiparams: does not match the SHA-256"):
            load_model(directory, "executor")

    each_case(_sums_forms(digests), checked)
    for form, directory in directories.items():
        assert checksums.verify(directory, files, required=True), form
        with pytest.raises(ModelError, match="does not match the SHA-256"):
            checksums.verify(directory, damaged, required=True)


def test_an_unreadable_sha256sums_is_an_error_not_a_pass(tiny_exports, tmp_path):  # noqa: F811
    """Empty, non-UTF-8, a directory ... : the issue saw each silently ignored. Through the loader first."""
    files = {n: (tiny_exports.legacy / n).read_bytes() for n in ("model.pdmodel", "model.pdiparams")}
    good = (tiny_exports.legacy / "SHA256SUMS").read_bytes()
    cases = {
        "empty": (b"", "holds no checksum lines"),
        "not UTF-8": (b"\xff\xfe" + good, "not UTF-8"),
        "directory": (None, "SHA256SUMS: is a directory"),
        "garbage line": (good + b"this is not a checksum\n", "line 3 is not a checksum line"),
        "one file missing": (good.splitlines(keepends=True)[0], "not listed in"),
        "md5 tag": (b"MD5 (model.pdmodel) = 0123456789abcdef0123456789abcdef\n", "line 1 is not a checksum line"),
        "FIFO": (None, "SHA256SUMS: is a FIFO"),  # last: code that opens it blocking would hang here
    }
    exports = {}

    def refused(name, case):
        content, message = case
        export = exports[name] = copy_export(tiny_exports, tmp_path, name.replace(" ", "_"))
        sums = export / "SHA256SUMS"
        sums.unlink()
        if name == "directory":
            sums.mkdir()
        elif name == "FIFO":
            os.mkfifo(sums)  # opened without blocking, then refused
        else:
            sums.write_bytes(content)
        for backend in ("executor", "predictor"):
            with pytest.raises(ModelError, match=message):
                load_model(export, backend)

    each_case({k: v for k, v in cases.items() if k != "FIFO"}, refused)  # code that blocks on a FIFO would hang
    each_case({"FIFO": cases["FIFO"]}, refused)
    for name, (_, message) in cases.items():
        with pytest.raises(ModelError, match=message):
            checksums.verify(exports[name], files, required=True)


# ------------------------------------------------------------------------------------------ fixed batch
def _export_fixed(tmp_path: Path, name: str, feed_shape, flat_shape) -> Path:
    from legacy_mnist.export import export_inference_model
    from legacy_mnist.paddle_env import import_paddle, ir_guard

    paddle = import_paddle()
    with ir_guard("legacy"):
        main, startup = paddle.static.Program(), paddle.static.Program()
        main.random_seed = startup.random_seed = 3
        with paddle.static.program_guard(main, startup):
            image = paddle.static.data("img", feed_shape, "float32")
            flat = paddle.reshape(image, flat_shape)
            probs = paddle.nn.functional.softmax(paddle.static.nn.fc(flat, 10))
        exe = paddle.static.Executor(paddle.CPUPlace())
        with paddle.static.scope_guard(paddle.static.Scope()):
            exe.run(startup)
            export_inference_model(tmp_path / name, [image], [probs], exe, main)
    return tmp_path / name


def test_fixed_batch_exports_are_found_at_load_and_answer_any_batch(tiny_exports, tmp_path):  # noqa: F811
    declared = _export_fixed(tmp_path, "declared", [1, 1, 28, 28], [1, 784])  # the input says batch 1
    hidden = _export_fixed(tmp_path, "hidden", [None, 1, 28, 28], [1, 784])  # only the reshape says so
    images = to_model_input(tiny_exports.images[:5])
    for export in (declared, hidden):
        for backend in ("executor", "predictor"):
            model = load_model(export, backend)
            together = model.predict(images)  # the issue: the run aborted on a batch of 2
            one_by_one = np.concatenate([model.predict(images[i : i + 1]) for i in range(5)])
            assert together.shape == (5, 10) and np.allclose(together, one_by_one, atol=1e-6)
            assert model.fixed_batch == 1, (export, backend)
    assert load_model(tiny_exports.legacy).fixed_batch is None
    done = subprocess.run(command("infer", "--model-dir", declared, "--format", "csv", "--preprocess", "book",
                                  *[_png(tmp_path, i, tiny_exports) for i in range(3)]),
                          capture_output=True, text=True, env=ENV, timeout=180)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 4, done.stderr


def _png(tmp_path: Path, index: int, tiny_exports) -> Path:  # noqa: F811
    from PIL import Image

    path = tmp_path / f"d{index}.png"
    Image.fromarray(np.asarray(tiny_exports.images[index])).save(path)
    return path


# ------------------------------------------------------------------------------------------------ ONNX
def test_onnx_external_data_and_foreign_ops_are_refused():
    import onnx
    from onnx import TensorProto, helper

    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[784, 10])
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../../etc/shadow"
    graph = helper.make_graph([helper.make_node("MatMul", ["img", "w"], ["out"])], "g",
                              [helper.make_tensor_value_info("img", TensorProto.FLOAT, [None, 784])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 10])], [weight])
    with pytest.raises(ModelError, match="external file"):
        vet_onnx_model(helper.make_model(graph).SerializeToString(), "ext.onnx")
    custom = helper.make_graph([helper.make_node("Exec", ["img"], ["out"], domain="com.evil")], "g",
                               [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 784])],
                               [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 10])])
    with pytest.raises(ModelError, match="'com.evil.Exec'"):
        vet_onnx_model(helper.make_model(custom).SerializeToString(), "custom.onnx")
    plain = helper.make_graph([helper.make_node("Softmax", ["img"], ["out"])], "g",
                              [helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 10])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 10])])
    info = vet_onnx_model(onnx.helper.make_model(plain).SerializeToString(), "plain.onnx")
    assert info.fixed_batch == 1 and info.op_types == ("Softmax",)


# ----------------------------------------------------------------------------------------------- export
def test_export_refuses_opsets_and_models_it_cannot_convert(tiny_exports, tmp_path):  # noqa: F811
    unknown = rewrite_program(copy_export(tiny_exports, tmp_path, "unknown"), add_op("no_such_op"))
    out = tmp_path / "x.onnx"
    results = run_all({
        "opset 99": command("export", "--model-dir", tiny_exports.legacy, "--onnx", out, "--opset", "99"),
        "opset 0": command("export", "--model-dir", tiny_exports.legacy, "--onnx", out, "--opset", "0"),
        "unknown op": command("export", "--model-dir", unknown, "--onnx", out),
        "threads": command("infer", "--model-dir", tiny_exports.legacy, "--threads", "100000", "x.png"),
        **{name: command("train", *args, "--dry-run", "--checkpoint-dir", tmp_path / f"ck{i}", "--save-dir",
                         tmp_path / f"export{i}")  # each its own directories: never the other's lock
           for i, (name, args) in enumerate({"train threads": ("--num-threads", "100000"),
                                             "train seed": ("--seed", "4294967296"),
                                             "train seed -1": ("--seed", "-1")}.items())},
    }, env=ENV)
    expected = {"opset 99": ("--opset must be between 7 and 21", "got 99"), "opset 0": ("--opset must be between 7 and 21", "got 0"),
                "unknown op": ("contains op type 'no_such_op'",), "threads": ("--threads must be between 1 and",),
                "train threads": ("--num-threads must be between 1 and",),
                "train seed": ("--seed must be an integer from 0 to 4294967295",),
                "train seed -1": ("--seed must be an integer from 0 to 4294967295",)}
    each_case(results, lambda name, done: one_error(done, 2, *expected[name], case=name))
    assert not out.exists()


def test_cli_vets_a_program_by_hand(tiny_exports):  # noqa: F811
    done = subprocess.run([sys.executable, "-m", "legacy_mnist.exported.model_vetting", str(tiny_exports.legacy / "model.pdmodel")],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0 and "ok (" in done.stdout and "any batch size" in done.stdout, done.stderr
