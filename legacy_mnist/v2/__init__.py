"""legacy_mnist.v2: run paddle.v2-era (2017) recognize-digits scripts on Paddle 3.3.1 static Programs.

Use: change `import paddle.v2 as paddle` to `import legacy_mnist.v2 as paddle` (Python 2 scripts also
need `print(...)`), then run the script as before. paddle.v2 left Paddle in 1.0 and no release for
Python 3 has it. Importing this puts Paddle in static mode under the legacy IR for the whole process.

Covered (see docs/porting.md, "paddle.v2"): paddle.init, paddle.layer.{data, fc, img_conv, img_pool,
batch_norm, dropout, classification_cost, cross_entropy_cost}, paddle.networks.{simple_img_conv_pool,
img_conv_bn_pool, img_conv_group}, paddle.data_type.{dense_vector, integer_value}, paddle.activation,
paddle.pooling.{Max, Avg}, paddle.attr.{Param, Extra}, paddle.parameters (create, names/get/set,
to_tar/from_tar in v2's model.tar format), paddle.optimizer.{Momentum, Adam, Adamax, AdaGrad,
DecayedAdaGrad, AdaDelta, RMSProp, L2Regularization, ModelAverage}, paddle.trainer.SGD (train, test,
save_parameter_to_tar), paddle.event, paddle.infer / paddle.inference.Inference, paddle.batch,
paddle.reader, paddle.dataset.mnist (the verified offline copy), paddle.image, paddle.plot.Ploter;
PIL.Image.ANTIALIAS (removed in Pillow 10) answers again, with a one-time warning.
Anything else raises NotCoveredError naming what to use instead.
"""
from __future__ import annotations

from ..fluid._compat import legacy_paddle
from ..compat.not_covered import NotCoveredError
from ..compat.pillow_aliases import restore as _restore_pillow_aliases

paddle = legacy_paddle()
_restore_pillow_aliases()  # the v2 tutorials resize with Image.ANTIALIAS, which Pillow 10 removed

from . import (activation, attr, data_type, dataset, event, image, inference, layer, networks, optimizer,  # noqa: E402
               parameters, plot, pooling, reader, trainer)
from ._names import v2_getattr  # noqa: E402
from .inference import infer  # noqa: E402
from .runtime import init  # noqa: E402

batch = paddle.batch  # v2's paddle.batch(reader, batch_size), unchanged in Paddle 3.3.1

__getattr__ = v2_getattr("", {
    "evaluator": "paddle.layer.classification_cost, which reports classification_error_evaluator",
    "topology": "paddle.parameters.create(cost) / paddle.trainer.SGD(cost, ...), which build the network",
    "minibatch": "paddle.batch",
    "master": "paddle.io.DataLoader (the v2 master/etcd data service was removed)",
    "config_base": "paddle.layer",
    "networks_v1": "paddle.networks",
    "fluid": "legacy_mnist.fluid (import legacy_mnist.fluid as fluid)",
})

__all__ = ["NotCoveredError", "activation", "attr", "batch", "data_type", "dataset", "event", "image", "infer",
           "inference", "init", "layer", "networks", "optimizer", "parameters", "plot", "pooling", "reader",
           "trainer"]
