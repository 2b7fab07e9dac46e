"""Load an export with Paddle 2.x or 1.8 and predict a batch: the default (legacy IR) export must load there too.

Run:  $LEGACY_MNIST_PADDLE2_PYTHON tests/paddle2_check.py MODEL_DIR INPUT.npy OUTPUT.npy
      $LEGACY_MNIST_PADDLE18_PYTHON tests/paddle2_check.py ...   (the real fluid: `fluid.io.load_inference_model`)
tests/test_export_paddle2.py runs this under Paddle 2.6.2 and 1.8.5 virtualenvs and compares the probabilities
with Paddle 3.x's. It imports nothing from legacy_mnist (whose code needs Paddle 3): only the exported files.
Prints one JSON line (Paddle version, feed names, output shape, op types). Exit 0 on success; 2 with one line
on stderr when this Paddle cannot load the export (a PIR .json export, missing files).
"""
import gzip  # noqa: F401 - Paddle 2.x's import breaks zlib for later users; use it first
import zlib

zlib.decompress(zlib.compress(b"warm up zlib before Paddle 2.x is imported"))

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

os.environ.setdefault("GLOG_minloglevel", "3")


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv):
    if len(argv) != 3:
        return fail("usage: paddle2_check.py MODEL_DIR INPUT.npy OUTPUT.npy")
    model_dir, input_path, output_path = argv
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np
    import paddle

    prefix = os.path.join(model_dir, "model")
    if not os.path.isfile(prefix + ".pdmodel"):
        if os.path.isfile(prefix + ".json"):
            return fail(f"{prefix}.json: a PIR export; Paddle {paddle.__version__} loads only .pdmodel exports")
        return fail(f"{model_dir}: no model.pdmodel here")
    fluid_era = paddle.__version__.startswith("1.")
    if fluid_era:  # Paddle 1.8: no paddle.static; the book's loader, directory + file names
        import paddle.fluid as fluid

        exe = fluid.Executor(fluid.CPUPlace())
        load = lambda: fluid.io.load_inference_model(model_dir, exe, model_filename="model.pdmodel",  # noqa: E731
                                                     params_filename="model.pdiparams")
    else:
        paddle.enable_static()
        exe = paddle.static.Executor(paddle.CPUPlace())
        load = lambda: paddle.static.load_inference_model(prefix, exe)  # noqa: E731
    try:
        program, feeds, fetches = load()
    except Exception as exc:  # noqa: BLE001 - report any loader failure in one line
        return fail(f"{prefix}: Paddle {paddle.__version__} cannot load it ({str(exc).strip().splitlines()[0]})")
    batch = np.load(input_path).astype(np.float32)
    (probs,) = exe.run(program, feed={feeds[0]: batch}, fetch_list=fetches)
    np.save(output_path, np.asarray(probs, dtype=np.float32))
    ops = [op.type for op in program.global_block().ops]
    print(json.dumps({"paddle": paddle.__version__, "feeds": list(feeds), "shape": list(np.shape(probs)),
                      "ops": ops}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
