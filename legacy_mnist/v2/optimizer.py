"""`paddle.optimizer`: v2's update equations, each one `paddle.optimizer` class on the summed batch cost.

Not run directly; the v2 tutorial's
    paddle.optimizer.Momentum(learning_rate=0.1 / 128.0, momentum=0.9,
                              regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128))
works as written. v2 took the gradient of the cost summed over the batch (that is why the tutorial divides
the learning rate by the batch size, 128), and so does the v2 trainer here: the numbers mean what they
meant. The keywords every v2 optimizer takes are v2's settings() (trainer_config_helpers/optimizers.py):
learning_rate (default 1e-3), regularization, model_average, gradient_clipping_threshold. L2 is added to
each gradient before the update (`grad + value * decayRate` in every legacy `*Apply`,
paddle/math/TrainingAlgorithmOp.cu), which is Paddle's L2Decay; the threshold clips each gradient value.
"""
from __future__ import annotations

from ._names import uncovered, v2_getattr
from ..fluid._compat import legacy_paddle

paddle = legacy_paddle()


class L2Regularization:
    """paddle.optimizer.L2Regularization(rate): rate * w added to every parameter's gradient."""

    def __init__(self, rate):
        self.rate = float(rate)


class ModelAverage:
    """paddle.optimizer.ModelAverage(average_window, max_average_window=None): v2's parameter averaging.

    The averaged parameters are what `trainer.save_parameter_to_tar` writes (v2 applied the average only
    there; `trainer.test` evaluates the live parameters, as v2's did).
    """

    def __init__(self, average_window, max_average_window=None, do_average_in_cpu=False):
        self.average_window = float(average_window)
        self.max_average_window = max_average_window

    def paddle_model_average(self):
        # Legacy AverageOptimizer: at least min(10000, max_average_window) batches, at most max_average_window.
        largest = int(self.max_average_window) if self.max_average_window else 2**62
        return paddle.incubate.ModelAverage(self.average_window, min_average_window=min(10000, largest),
                                            max_average_window=largest)


class Optimizer:
    """The settings every v2 optimizer takes; `paddle_optimizer()` is the Paddle 3.3.1 object."""

    def __init__(self, learning_rate=1e-3, regularization=None, model_average=None, gradient_clipping_threshold=None,
                 is_async=False, learning_rate_schedule="constant", learning_rate_decay_a=0.0,
                 learning_rate_decay_b=0.0, batch_size=None, **unknown):
        if unknown:
            raise TypeError(f"paddle.optimizer.{type(self).__name__}: unknown setting {next(iter(unknown))}=")
        if is_async:
            raise uncovered("paddle.optimizer(is_async=True)", "synchronous updates (the default)")
        if learning_rate_schedule != "constant" or learning_rate_decay_a or learning_rate_decay_b:
            raise uncovered(f"paddle.optimizer(learning_rate_schedule={learning_rate_schedule!r})",
                            "a constant learning rate, or paddle.optimizer.lr schedules in a paddle.static program")
        regularizations = regularization if isinstance(regularization, (list, tuple)) else [regularization]
        rates = [r.rate for r in regularizations if r is not None]
        if any(not isinstance(r, L2Regularization) for r in regularizations if r is not None):
            raise TypeError("regularization must be paddle.optimizer.L2Regularization(rate=...)")
        if model_average is not None and not isinstance(model_average, ModelAverage):
            raise TypeError("model_average must be paddle.optimizer.ModelAverage(average_window=...)")
        self.learning_rate = float(learning_rate)
        self.l2_rate = sum(rates) if rates else None
        self.model_average = model_average
        self.gradient_clipping_threshold = gradient_clipping_threshold

    def _common(self) -> dict:
        return dict(
            learning_rate=self.learning_rate,
            weight_decay=paddle.regularizer.L2Decay(self.l2_rate) if self.l2_rate else None,
            grad_clip=(paddle.nn.ClipGradByValue(float(self.gradient_clipping_threshold))
                       if self.gradient_clipping_threshold else None))

    def paddle_optimizer(self):
        raise NotImplementedError


class Momentum(Optimizer):
    """v = momentum * v - lr * (grad + l2 * w); w += v (v2's sgdUpdate; Paddle's Momentum is the same step)."""

    def __init__(self, momentum=None, sparse=False, **kwargs):
        super().__init__(**kwargs)
        if sparse:
            raise uncovered("paddle.optimizer.Momentum(sparse=True)", "dense updates (sparse=False)")
        self.momentum = float(momentum or 0.0)

    def paddle_optimizer(self):
        return paddle.optimizer.Momentum(momentum=self.momentum, **self._common())


class Adam(Optimizer):
    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def paddle_optimizer(self):
        return paddle.optimizer.Adam(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon, **self._common())


class Adamax(Optimizer):
    def __init__(self, beta1=0.9, beta2=0.999, **kwargs):
        super().__init__(**kwargs)
        self.beta1, self.beta2 = float(beta1), float(beta2)

    def paddle_optimizer(self):
        return paddle.optimizer.Adamax(beta1=self.beta1, beta2=self.beta2, **self._common())


class AdaGrad(Optimizer):
    def paddle_optimizer(self):
        return paddle.optimizer.Adagrad(epsilon=1e-6, **self._common())  # v2's ada_epsilon default


class RMSProp(Optimizer):
    """v2's rmsprop is centred: lr * g / sqrt(E[g^2] - E[g]^2 + epsilon) (rmspropApply)."""

    def __init__(self, rho=0.95, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def paddle_optimizer(self):
        return paddle.optimizer.RMSProp(rho=self.rho, epsilon=self.epsilon, centered=True, **self._common())


class DecayedAdaGrad(RMSProp):
    """lr * g / sqrt(E[g^2] + epsilon): RMSProp without the centring."""

    def paddle_optimizer(self):
        return paddle.optimizer.RMSProp(rho=self.rho, epsilon=self.epsilon, centered=False, **self._common())


class AdaDelta(Optimizer):
    def __init__(self, rho=0.95, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def paddle_optimizer(self):
        return paddle.optimizer.Adadelta(rho=self.rho, epsilon=self.epsilon, **self._common())


__getattr__ = v2_getattr("optimizer", {})
