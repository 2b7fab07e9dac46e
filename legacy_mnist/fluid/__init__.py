"""legacy_mnist.fluid: run `paddle.fluid`-era recognize-digits scripts on Paddle 3.3.1 (fluid was removed in 2.6).

Use: change `import paddle.fluid as fluid` to `import legacy_mnist.fluid as fluid` (and
`paddle.dataset.mnist` to `legacy_mnist.dataset.mnist`), then `python your_train.py` as before.
Importing this package puts Paddle in static mode under the legacy IR for the whole process.

Covered: fluid.data, fluid.layers.{data, fc, cross_entropy, mean, accuracy, batch_norm, conv2d, pool2d,
dropout, reshape}, fluid.nets.{simple_img_conv_pool, img_conv_group}, fluid.optimizer.{Adam, SGD, Momentum}
(+ *Optimizer spellings), fluid.regularizer.{L2Decay, L1Decay}, fluid.initializer, fluid.ParamAttr, places,
Executor, DataFeeder, programs and scopes, fluid.io.{save,load}_inference_model, fluid.core.{Scope,
is_compiled_with_cuda}, and the fluid.dygraph names of the dygraph tutorial. Where a modern spelling
differs in a way a porter must know, the first use warns (FluidDeprecationWarning, once per name);
any other name raises NotCoveredError naming its modern replacement. See docs/porting.md.
"""
from __future__ import annotations

from ._compat import (
    FluidArgumentError,
    FluidDeprecationWarning,
    NotCoveredError,
    NotCoveredImportError,
    install_module_hints,
    legacy_paddle,
    module_getattr,
    reset_warnings,
)

paddle = legacy_paddle()

from ..compat.pillow_aliases import restore as _restore_pillow_aliases  # noqa: E402

_restore_pillow_aliases()  # the book's infer() resizes with Image.ANTIALIAS, which Pillow 10 removed
install_module_hints()

from . import (  # noqa: E402
    contrib, core, data_feeder, dygraph, inferencer, initializer, io, layers, nets, optimizer, param_attr, reader,
    regularizer, trainer,
)
from .contrib.inferencer import Inferencer  # noqa: E402
from .contrib.trainer import (  # noqa: E402
    BeginEpochEvent, BeginStepEvent, CheckpointConfig, EndEpochEvent, EndStepEvent, Trainer,
)
from .data_feeder import DataFeeder  # noqa: E402
from .dygraph.checkpoint import load_dygraph, save_dygraph  # noqa: E402 (fluid 1.7-1.8 top level)
from .executor import Executor  # noqa: E402
from .param_attr import ParamAttr, WeightNormParamAttr  # noqa: E402
from .places import CPUPlace, CUDAPlace  # noqa: E402

Program = paddle.static.Program
Variable = paddle.static.Variable
default_main_program = paddle.static.default_main_program
default_startup_program = paddle.static.default_startup_program
program_guard = paddle.static.program_guard
scope_guard = paddle.static.scope_guard
global_scope = paddle.static.global_scope
name_scope = paddle.static.name_scope
cpu_places = paddle.static.cpu_places
cuda_places = paddle.static.cuda_places
CompiledProgram = paddle.static.CompiledProgram
BuildStrategy = paddle.static.BuildStrategy
gradients = paddle.static.gradients
unique_name = paddle.utils.unique_name


def data(name, shape, dtype="float32", lod_level=0):
    """fluid.data: a feed variable with exactly `shape` (None = any size); the fed shape is checked.

    Same as `paddle.static.data` (fluid.layers.data is the one that prepends a batch dimension).
    """
    return paddle.static.data(name=name, shape=shape, dtype=dtype, lod_level=lod_level)


_REPLACEMENTS = {
    "ParallelExecutor": "paddle.static.CompiledProgram + fluid.Executor",
    "ExecutionStrategy": "nothing (removed); paddle.static.BuildStrategy covers what is left",
    "LoDTensor": "numpy arrays: feed them to Executor.run directly (LoD was removed)",
    "create_lod_tensor": "numpy arrays: feed them to Executor.run directly (LoD was removed)",
    "create_random_int_lodtensor": "numpy.random.randint arrays fed to Executor.run",
    "embedding": "paddle.static.nn.embedding",
    "one_hot": "paddle.nn.functional.one_hot",
    "in_dygraph_mode": "paddle.in_dynamic_mode",
    "enable_dygraph": "paddle.disable_static",
    "disable_dygraph": "paddle.enable_static",
    "enable_imperative": "paddle.disable_static",
    "disable_imperative": "paddle.enable_static",
    "memory_optimize": "nothing: memory optimisation is automatic now (delete the call)",
    "release_memory": "nothing: memory optimisation is automatic now (delete the call)",
    "metrics": "paddle.metric",
    "evaluator": "paddle.metric",
    "average": "paddle.metric",
    "clip": "paddle.nn.ClipGradByNorm / ClipGradByGlobalNorm / ClipGradByValue (grad_clip= of the optimizer)",
    "profiler": "paddle.profiler",
    "transpiler": "paddle.distributed.fleet",
    "DistributeTranspiler": "paddle.distributed.fleet",
    "recordio_writer": "nothing (RecordIO was removed); use paddle.io.Dataset",
    "framework": "paddle.static",
    "backward": "paddle.static.append_backward",
    "append_backward": "paddle.static.append_backward",
    "CUDAPinnedPlace": "paddle.CUDAPinnedPlace",
    "set_flags": "paddle.set_flags",
    "get_flags": "paddle.get_flags",
    "require_version": "nothing: check paddle.__version__",
}

__getattr__ = module_getattr("fluid", _REPLACEMENTS)

__all__ = [
    "BeginEpochEvent",
    "BeginStepEvent",
    "BuildStrategy",
    "CPUPlace",
    "CheckpointConfig",
    "CUDAPlace",
    "CompiledProgram",
    "DataFeeder",
    "EndEpochEvent",
    "EndStepEvent",
    "Executor",
    "FluidArgumentError",
    "FluidDeprecationWarning",
    "Inferencer",
    "NotCoveredError",
    "ParamAttr",
    "Trainer",
    "Program",
    "Variable",
    "WeightNormParamAttr",
    "contrib",
    "core",
    "cpu_places",
    "cuda_places",
    "data",
    "data_feeder",
    "default_main_program",
    "default_startup_program",
    "dygraph",
    "global_scope",
    "gradients",
    "inferencer",
    "initializer",
    "io",
    "load_dygraph",
    "layers",
    "name_scope",
    "nets",
    "optimizer",
    "param_attr",
    "program_guard",
    "reader",
    "regularizer",
    "reset_warnings",
    "save_dygraph",
    "scope_guard",
    "trainer",
    "unique_name",
]
