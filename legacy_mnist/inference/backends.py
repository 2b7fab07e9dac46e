"""The runtimes behind `load_model`: one `Model` class per backend, each configured for speed on the CPU.

Not run directly; `python -m legacy_mnist.infer --backend openvino ...` (and `evaluate`, `bench`) load a model
through `legacy_mnist.infer.load_model`, which picks the class here. Backends:
  executor   `paddle.static.load_inference_model` + `Executor`, as the book did (the reference)
  predictor  Paddle Inference (`create_predictor`): oneDNN kernels and fusions for batches, Paddle's native
             kernels for one image (per-op overhead is the floor there: docs/benchmarks.md)
  onnx       ONNX Runtime on an .onnx file (`export --onnx`); extra `onnx`
  openvino   OpenVINO: our .pdmodel through its Paddle frontend, an .onnx file as it is, a PIR .json through
             paddle2onnx in memory; extra `openvino`. f32 by default; `precision="bf16"` on request (below)
`default_backend` ranks the installed ones by the measurements in docs/benchmarks.md.
Why this is long: four backend classes side by side behind one interface, so their configuration for speed
can be compared in one place.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import os
import re
from collections import OrderedDict

import numpy as np

from ..errors import ModelError, UserError
from ..common.extras import require
from ..common.input_checks import model_input
from ..exported.model_files import ModelChoice
from ..exported.model_reading import VettedModel
from ..normalize import IMAGE_SHAPE, to_model_input
from ..paddle_env import available_cores, import_paddle, ir_guard, quiet_paddle_logger

BACKENDS = ("executor", "predictor", "onnx", "openvino")
# Which backends can run which export format (ONNX Runtime takes .onnx files only: `export --onnx` makes one).
RUNS_FORMAT = {"legacy": ("openvino", "predictor", "executor"), "pir": ("openvino", "predictor", "executor"),
               "onnx": ("openvino", "onnx")}
# The default for a request of one image or a batch, ranked by `python -m legacy_mnist.bench --sections runtimes`
# (2 cores, shipped cnn and vgg, 5 interleaved rounds, docs/benchmarks.md): OpenVINO is the fastest for both
# (cnn 0.06 ms a single image, ~48,000 img/s at batch 500; ONNX Runtime 0.07 ms, ~25,000 img/s; the predictor
# 0.17 ms, ~40,000 img/s). Without the `openvino` extra: ONNX Runtime for one image when the export is an .onnx
# file, the predictor otherwise.
DEFAULT_ORDER = {
    "one": ("openvino", "onnx", "predictor", "executor"),
    "batch": ("openvino", "predictor", "onnx", "executor"),
}
OPTIONAL_MODULE = {"onnx": "onnxruntime", "openvino": "openvino"}
MKLDNN_CACHE_SHAPES = 8
OPENVINO_SHAPES = 8  # batch sizes OpenVINO keeps compiled at once (each a static-shape model, see OpenVinoModel)
# OpenVINO splits a batch of at least STREAM_MIN_BATCH images into requests of about STREAM_CHUNK images, run on
# one single-thread stream per core (THROUGHPUT hint). Measured on the shipped cnn, 2 cores, batch 500, with
# direct convolutions (Intel Xeon, exclusive lock, 5 interleaved rounds): 4 x 125 48,100 img/s; 10 x 50 46,800;
# 2 x 250 45,500; one request on 2 threads (LATENCY hint) 42,100; ONNX Runtime 25,200-26,400 in the same runs.
# With Winograd convolutions (below) smaller requests keep the transforms' data in each core's L2 (AMD EPYC, 6
# interleaved rounds, medians): 10 x 50 35,300 img/s; 20 x 25 35,900; 16 x 32 34,500; 4 x 125 30,700. The
# vgg (direct): 10 x 50 8,570; 4 x 125 8,400.
STREAM_MIN_BATCH = 32
STREAM_CHUNK = 50
# Requests of at least WINOGRAD_MIN_IMAGES images run a graph whose 5x5 convolutions are Winograd
# transforms and matrix products (inference/winograd.py), in f32: the shipped cnn's batch-125 request 1.6x
# faster on one thread (36 vs 59 us an image); one image keeps OpenVINO's direct convolutions (transforms
# cost more than they save there). WINOGRAD_ENV=0 keeps the direct graph for every size (the bench's
# comparison row).
WINOGRAD_MIN_IMAGES = 2
WINOGRAD_ENV = "LEGACY_MNIST_OPENVINO_WINOGRAD"
# The arithmetic a backend runs in. f32 answers as Paddle does (to 1e-5: the tests hold every backend to it).
# bf16, OpenVINO only and only when asked: bfloat16 multiplies with f32 sums, about twice the f32 batch
# throughput on a CPU with bf16 instructions (AVX512_BF16, AMX), the probabilities moved by up to ~3e-2
# (shipped cnn / vgg on the 10,000 test images: the same 99.23% / 99.65%, 10,000 / 9,999 digits as f32;
# docs/benchmarks.md "Runtimes").
PRECISIONS = ("f32", "bf16")
INPUT_NAME = "img"
NUM_CLASSES = 10


def installed(backend: str) -> bool:
    """Whether `backend`'s optional runtime can be imported (Paddle's backends always can)."""
    module = OPTIONAL_MODULE.get(backend)
    if module is None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def default_backend(fmt: str, images: int | None = None) -> str:
    """The fastest installed backend for an export of format `fmt` and a request of `images` images (1: one
    image; anything else: batches), from DEFAULT_ORDER."""
    order = DEFAULT_ORDER["one" if images == 1 else "batch"]
    return next(b for b in order if b in RUNS_FORMAT[fmt] and installed(b))


def _one_line(exc: BaseException) -> str:
    """Paddle's errors span many lines (user-code stack, C++ stack, hints); keep the one that says what."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[A-Z]\w*Error: ", line)]
    tagged = [line for line in lines if re.match(r"^\([A-Z]\w+\) ", line)]
    text = (named or tagged or lines or [type(exc).__name__])[0]
    return text if len(text) <= 240 else text[:237] + "..."


class Model:
    """An exported digit model behind one backend: `predict(float32 [N, 1, 28, 28]) -> probs [N, 10]`.

    Built from a `VettedModel` (bytes read once, checksummed, program vetted); a model exported with a fixed
    batch size is fed in chunks of that size, so it answers any number of images.
    """

    backend = ""
    precision = "f32"

    def __init__(self, vetted: VettedModel):
        self.vetted = vetted
        self.files = vetted.files
        self.fixed_batch = vetted.info.fixed_batch
        self.choice: ModelChoice | None = None  # how load_model found it (set there)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = model_input(batch)
        if batch.shape[0] == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        size = self.fixed_batch
        if size is None:
            return np.asarray(self._run(batch), dtype=np.float32)
        chunks = []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            padded = np.concatenate([chunk, np.zeros((size - len(chunk),) + IMAGE_SHAPE, np.float32)])
            chunks.append(np.asarray(self._run(padded), dtype=np.float32)[: len(chunk)])
        return np.concatenate(chunks)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def check_contract(self) -> "Model":
        """Run blank images through the model: a model of another shape fails here, in one line.

        Two images, then one: an export whose program hard-codes a batch of 1 (a `reshape` to [1, 980], as
        Paddle 1.8's TracedLayer writes) is found here and fed one image at a time from then on.
        """
        blank = to_model_input(np.zeros((2, 28, 28), dtype=np.uint8))
        try:
            if self.fixed_batch is None:
                try:
                    if self.predict(blank).shape != (2, NUM_CLASSES):
                        raise ValueError("two images in, not two answers out")
                except Exception:  # noqa: BLE001 - a program that takes one image at a time: fed that way
                    self.fixed_batch = 1
            probs = self.predict(blank[:1])
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - Paddle/ORT raise many types for a broken model
            raise ModelError(f"{self.files.model}: cannot run the model ({_one_line(exc)})") from None
        if probs.shape != (1, NUM_CLASSES):
            raise ModelError(
                f"{self.files.model}: not an MNIST digit model (output shape {list(probs.shape)}, "
                f"expected [N, {NUM_CLASSES}])"
            )
        if not np.all(np.isfinite(probs)) or abs(float(probs.sum()) - 1.0) > 1e-3:
            raise ModelError(f"{self.files.model}: output is not softmax probabilities (corrupted parameters?)")
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.files.model)!r}, format={self.files.format!r})"

    def describe(self) -> str:
        """The one stderr line `infer` and `evaluate` print: which model file, format and backend, from where."""
        where = self.choice.describe() if self.choice is not None else "given with --model-dir"
        backend = self.backend if self.precision == "f32" else f"{self.backend}, {self.precision}"
        return f"model: {self.files.model} (format {self.files.format}, backend {backend}; {where})"


class ExecutorModel(Model):
    """`paddle.static.load_inference_model` + `Executor` in a private Scope, as the book did."""

    backend = "executor"

    def __init__(self, vetted: VettedModel):
        super().__init__(vetted)
        files = vetted.files
        paddle = import_paddle()
        self._paddle = paddle
        self._ir = "pir" if files.format == "pir" else "legacy"
        self._scope = paddle.static.Scope()
        self._exe = paddle.static.Executor(paddle.CPUPlace())
        try:
            with self._guards(), quiet_paddle_logger():
                if files.format == "legacy":  # from the vetted bytes in memory
                    self._program, feeds, self._fetches = paddle.static.load_inference_model(
                        None, self._exe, model_filename=vetted.program, params_filename=vetted.params)
                else:
                    with vetted.private_copy() as copy:
                        self._program, feeds, self._fetches = paddle.static.load_inference_model(
                            str(copy.prefix), self._exe)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{files.model}: cannot load ({_one_line(exc)})") from None
        if list(feeds) != [INPUT_NAME] or len(self._fetches) != 1:
            raise ModelError(
                f"{files.model}: not an MNIST digit model (inputs {list(feeds)}, {len(self._fetches)} outputs; "
                f"expected input '{INPUT_NAME}' and one output)"
            )

    def _guards(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(self._paddle.static.scope_guard(self._scope))
        stack.enter_context(ir_guard(self._ir))
        return stack

    def _run(self, batch):
        with self._guards():
            (probs,) = self._exe.run(self._program, feed={INPUT_NAME: batch}, fetch_list=self._fetches)
        return probs


class PredictorModel(Model):
    """The Paddle Inference predictor (`paddle.inference.Config` + `create_predictor`), graph-optimised.

    Two predictors over the same vetted bytes, one per kind of request, each configured for it (measured on
    the shipped cnn, 2 cores, docs/benchmarks.md):
    - batches: oneDNN kernels with the IR passes' fusions (conv + bias + activation, reshape2 + matmul +
      elementwise_add into one fc), memory optimisation (buffers reused across ops), every core: 8x the
      Executor at batch 500;
    - one image: Paddle's native CPU kernels on one thread, IR passes on. oneDNN's per-call primitive lookup
      and reorders cost more than the arithmetic for one 28x28 digit (0.29 ms with oneDNN, 0.17 ms without).
    Inputs and outputs go through the predictor's zero-copy tensor handles (no feed/fetch ops).
    """

    backend = "predictor"

    def __init__(self, vetted: VettedModel, threads: int | None = None, verbose: bool = False):
        super().__init__(vetted)
        # The predictor can crash the process on a damaged program; the Executor's load reports it instead.
        ExecutorModel(vetted)
        self._threads = threads
        self._verbose = verbose
        self._batch = self._create(single=False)
        self._single = None  # created on the first one-image request

    def _config(self, stack: contextlib.ExitStack):
        from paddle import inference

        vetted = self.vetted
        if vetted.files.format == "legacy":
            config = inference.Config()
            config.set_model_buffer(vetted.program, len(vetted.program), vetted.params, len(vetted.params))
        else:  # the PIR predictor reads files only: a private copy of the vetted bytes
            copy = stack.enter_context(vetted.private_copy())
            config = inference.Config(str(copy.model), str(copy.params))
        return config

    def _create(self, single: bool):
        files = self.files
        with contextlib.ExitStack() as stack:
            config = self._config(stack)
            config.disable_gpu()
            if not self._verbose:
                config.disable_glog_info()
            config.switch_ir_optim(True)
            config.switch_use_feed_fetch_ops(False)  # zero-copy handles, no feed/fetch ops in the graph
            if single:
                config.disable_mkldnn()
                config.set_cpu_math_library_num_threads(1)
            else:
                config.enable_mkldnn()
                # oneDNN keeps primitives per input shape; a bound keeps memory flat when batch sizes vary.
                config.set_mkldnn_cache_capacity(MKLDNN_CACHE_SHAPES)
                if self.files.format == "legacy":  # the PIR predictor refuses it (memory_optimize_pass)
                    config.enable_memory_optim()
                config.set_cpu_math_library_num_threads(self._threads or available_cores())
            try:
                with quiet_paddle_logger():
                    predictor = _create_predictor(config)
            except Exception as exc:  # noqa: BLE001
                raise ModelError(f"{files.model}: cannot load ({_one_line(exc)})") from None
        inputs = list(predictor.get_input_names())
        if inputs != [INPUT_NAME]:
            raise ModelError(f"{files.model}: not an MNIST digit model (inputs {inputs}, expected '{INPUT_NAME}')")
        return (predictor, predictor.get_input_handle(INPUT_NAME),
                predictor.get_output_handle(predictor.get_output_names()[0]))

    def _run(self, batch):
        if len(batch) == 1:
            if self._single is None:
                self._single = self._create(single=True)
            predictor, source, sink = self._single
        else:
            predictor, source, sink = self._batch
        source.reshape(list(batch.shape))
        source.copy_from_cpu(batch)
        predictor.run()
        return sink.copy_to_cpu()


def _create_predictor(config):
    from paddle import inference

    return inference.create_predictor(config)


class OnnxModel(Model):
    """ONNX Runtime on the CPU, for a model converted with `python -m legacy_mnist.export --onnx`."""

    backend = "onnx"

    def __init__(self, vetted: VettedModel, threads: int | None = None, verbose: bool = False):
        super().__init__(vetted)
        files = vetted.files
        require("onnxruntime", "the onnx backend", ModelError)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 0 if verbose else 3
        # ONNX Runtime's best CPU settings for a small convnet: every graph optimisation, ops one after the
        # other (nothing here runs in parallel branches), the intra-op pool on every core.
        options.intra_op_num_threads = threads or available_cores()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        try:
            with quiet_paddle_logger():
                self._session = onnxruntime.InferenceSession(vetted.program, options,
                                                             providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{files.model}: cannot load ({_one_line(exc)})") from None
        inputs = [i.name for i in self._session.get_inputs()]
        if inputs != [INPUT_NAME]:
            raise ModelError(f"{files.model}: not an MNIST digit model (inputs {inputs}, expected '{INPUT_NAME}')")

    def _run(self, batch):
        return self._session.run(None, {INPUT_NAME: batch})[0]


@functools.lru_cache(maxsize=1)
def _openvino_core():
    """One OpenVINO Core for the process, never released: a Core freed with its model unloads the CPU plugin
    while the plugin's worker threads live on, and the memory it held was later overwritten (the suite crashed
    in gc, in a module loaded after the unload). OpenVINO's guide also keeps one Core per application."""
    import openvino

    return openvino.Core()


class OpenVinoModel(Model):
    """OpenVINO on the CPU: our .pdmodel through its Paddle frontend, an .onnx file as it is, a PIR .json
    converted to ONNX in memory by paddle2onnx (extra `onnx`).

    An older export whose fc layers are fluid `mul` ops (which the frontend cannot convert) is rewritten in
    memory into the current op form first (`exported.op_forms.fc_as_matmul`, the same arithmetic). Compiled for f32
    unless `precision="bf16"` (PRECISIONS): on a CPU with AMX, OpenVINO's own default is bf16. Each batch size gets
    its own static-shape compiled model (the last OPENVINO_SHAPES kept): static shapes let the CPU plugin
    pick its kernels ahead and skip shape inference per call (0.055 ms vs 0.069 ms a single image). One image
    runs as one request on every thread (the LATENCY path; 2 threads against 1: cnn 0.074 vs 0.076 ms, vgg
    0.136 vs 0.178 ms, exclusive lock, 5 interleaved rounds of 500 calls); a batch of STREAM_MIN_BATCH
    images or more is split into equal requests run asynchronously on one single-thread stream per core (the
    THROUGHPUT path: 48,100 img/s at batch 500 against 42,100 for one request on both threads). In f32, requests
    of WINOGRAD_MIN_IMAGES or more run `_batch_model`, the graph with its 5x5 convolutions as Winograd
    transforms (`winograd_convolutions` names them; [] when none or WINOGRAD_ENV=0).
    """

    backend = "openvino"

    def __init__(self, vetted: VettedModel, threads: int | None = None, verbose: bool = False,
                 precision: str = "f32"):
        super().__init__(vetted)
        require("openvino", "the openvino backend", ModelError)
        import openvino

        self._ov = openvino
        self._threads = threads
        self._core = _openvino_core()
        if precision == "bf16":
            capabilities = self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            if "BF16" not in capabilities:  # OpenVINO would quietly run f32: say so instead
                raise UserError("precision bf16: this CPU has no bf16 instructions (OpenVINO's CPU capabilities: "
                                f"{', '.join(capabilities)}); use precision f32")
        self.precision = precision
        self._compiled: OrderedDict = OrderedDict()  # (request size, streams) -> compiled model
        self._requests: dict = {}  # request size -> (compiled, request, source, sink): the one-request path
        self._pools: dict = {}  # (request size, requests) -> (compiled, infer requests): the streams path
        files = vetted.files
        if files.format == "pir":
            from ..exported.op_forms import paddle_to_onnx_bytes

            with vetted.private_copy() as copy:
                source = dataclasses.replace(vetted, program=paddle_to_onnx_bytes(copy, verbose=verbose),
                                             params=None, files=dataclasses.replace(files, model=files.model.with_suffix(".onnx"), params=None))
        elif files.format == "legacy":
            from ..exported.op_forms import fc_as_matmul

            source = dataclasses.replace(vetted, program=fc_as_matmul(vetted.program))
        else:
            source = vetted
        try:
            with source.private_copy() as copy, quiet_paddle_logger():
                self._model = self._core.read_model(str(copy.model))
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError/OpConversionFailure with C++ text
            raise ModelError(f"{files.model}: OpenVINO cannot read it ({_one_line(exc)})") from None
        inputs = [port.get_any_name() for port in self._model.inputs]
        if inputs != [INPUT_NAME] or len(self._model.outputs) != 1:
            raise ModelError(f"{files.model}: not an MNIST digit model (inputs {inputs}, "
                             f"{len(self._model.outputs)} outputs; expected input '{INPUT_NAME}' and one output)")
        self._batch_model, self.winograd_convolutions = self._model, []
        if precision == "f32" and os.environ.get(WINOGRAD_ENV, "1") != "0":
            from .winograd import with_winograd_convolutions

            try:
                self._batch_model, self.winograd_convolutions = with_winograd_convolutions(self._model)
            except Exception:  # noqa: BLE001 - a graph the rewrite cannot handle runs direct, as OpenVINO reads it
                self._batch_model, self.winograd_convolutions = self._model, []

    def _compiled_for(self, size: int, streams: int):
        """The static-shape compiled model for requests of `size` images on `streams` streams (cached)."""
        key = (size, streams)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        model = (self._batch_model if size >= WINOGRAD_MIN_IMAGES else self._model).clone()
        model.reshape({INPUT_NAME: [size, *IMAGE_SHAPE]})
        if streams == 1:  # one request at a time, every thread on it
            settings = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                        "INFERENCE_NUM_THREADS": self._threads or available_cores()}
        else:  # one thread per stream, the streams running requests side by side
            settings = {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": streams}
        found = self._compiled[key] = self._core.compile_model(
            model, "CPU", {"INFERENCE_PRECISION_HINT": self.precision, **settings})
        while len(self._compiled) > OPENVINO_SHAPES:
            self._compiled.popitem(last=False)
        return found

    def _latency_request(self, size: int):
        found = self._requests.get(size)
        compiled = self._compiled_for(size, 1)
        if found is not None and found[0] is compiled:
            return found[1:]
        request = compiled.create_infer_request()
        # The request reads `source` and writes `sink`, our own arrays: no tensor objects made per call.
        source = np.zeros((size, *IMAGE_SHAPE), np.float32)
        sink = np.zeros(tuple(compiled.output(0).get_shape()), np.float32)
        request.set_input_tensor(self._ov.Tensor(source, shared_memory=True))
        request.set_output_tensor(0, self._ov.Tensor(sink, shared_memory=True))
        self._requests[size] = (compiled, request, source, sink)
        while len(self._requests) > OPENVINO_SHAPES:
            self._requests.pop(next(iter(self._requests)))
        return request, source, sink

    def _run(self, batch):
        streams = self._threads or available_cores()
        if len(batch) < STREAM_MIN_BATCH or streams == 1:
            request, source, sink = self._latency_request(len(batch))
            np.copyto(source, batch)
            request.infer()
            return sink.copy()
        return self._run_streams(batch, streams)

    def _run_streams(self, batch, streams: int):
        """A batch split into `parts` equal requests (about STREAM_CHUNK images each, a multiple of the streams),
        run asynchronously on `streams` single-thread streams: no thread waits for another inside an op. The
        requests read slices of the caller's batch and write slices of the answer in place."""
        parts = streams * max(1, round(len(batch) / (STREAM_CHUNK * streams)))
        chunk, count = -(-len(batch) // parts), len(batch)
        compiled = self._compiled_for(chunk, streams)
        found = self._pools.get((chunk, parts))
        if found is None or found[0] is not compiled:
            found = self._pools[(chunk, parts)] = (compiled, [compiled.create_infer_request() for _ in range(parts)])
            while len(self._pools) > OPENVINO_SHAPES:
                self._pools.pop(next(iter(self._pools)))
        pool = found[1]
        if len(batch) < parts * chunk:  # the last request's missing images: zeros, answers dropped
            batch = np.concatenate([batch, np.zeros((parts * chunk - len(batch),) + IMAGE_SHAPE, np.float32)])
        out = np.empty((parts * chunk, NUM_CLASSES), np.float32)
        tensor = self._ov.Tensor
        for part, request in zip(range(parts), pool):
            rows = slice(part * chunk, (part + 1) * chunk)
            request.set_input_tensor(tensor(batch[rows], shared_memory=True))
            request.set_output_tensor(0, tensor(out[rows], shared_memory=True))
            request.start_async()
        for request in pool:
            request.wait()
        return out[:count]


def create_model(vetted: VettedModel, backend: str, threads: int | None = None, verbose: bool = False,
                 precision: str = "f32") -> Model:
    """The `backend` runtime over `vetted`'s bytes (not yet contract-checked: `Model.check_contract`)."""
    if precision != "f32":
        if backend != "openvino":
            raise UserError(f"precision {precision} runs on the openvino backend only, not {backend}")
        return OpenVinoModel(vetted, threads, verbose, precision)
    if backend == "executor":
        return ExecutorModel(vetted)
    if backend == "predictor":
        return PredictorModel(vetted, threads, verbose)
    if backend == "onnx":
        return OnnxModel(vetted, threads, verbose)
    return OpenVinoModel(vetted, threads, verbose)
