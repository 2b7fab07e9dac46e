"""Load an export with Paddle 2.x and predict a batch: the default (legacy IR) export must load there too.

Run:  $LEGACY_MNIST_PADDLE2_PYTHON tests/paddle2_check.py MODEL_DIR INPUT.npy OUTPUT.npy
tests/test_export_paddle2.py runs this under a Paddle 2.6.2 virtualenv and compares the probabilities with
Paddle 3.x's. It imports nothing from legacy_mnist (whose code needs Paddle 3): only the exported files.
Prints one JSON line (Paddle version, feed names, output shape). Exit 0 on success; 2 with one line on
stderr when this Paddle cannot load the export (a PIR .json export, missing files).
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
    paddle.enable_static()
    exe = paddle.static.Executor(paddle.CPUPlace())
    try:
        program, feeds, fetches = paddle.static.load_inference_model(prefix, exe)
    except Exception as exc:  # noqa: BLE001 - report any loader failure in one line
        return fail(f"{prefix}: Paddle {paddle.__version__} cannot load it ({str(exc).strip().splitlines()[0]})")
    batch = np.load(input_path).astype(np.float32)
    (probs,) = exe.run(program, feed={feeds[0]: batch}, fetch_list=fetches)
    np.save(output_path, np.asarray(probs, dtype=np.float32))
    print(json.dumps({"paddle": paddle.__version__, "feeds": list(feeds), "shape": list(np.shape(probs))}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
