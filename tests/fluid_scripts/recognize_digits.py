"""Recognize digits the way the PaddlePaddle book's fluid chapter (02.recognize_digits/train.py) did it.

Run:  python tests/fluid_scripts/recognize_digits.py --num_epochs 1 --infer_image digit.png
      FLUID_NN_TYPE=softmax_regression|multilayer_perceptron|convolutional_neural_network (default: cnn)
      FLUID_TRAIN_LIMIT=3000 FLUID_TEST_LIMIT=1000 cap the readers (default: the whole sets)
      FLUID_SEED=1 seeds the shuffle buffer and the parameter initialisation (default: unseeded)

A fluid-era script ported to Paddle 3.3.1 by changing its import lines only:
    import paddle.fluid as fluid   ->  import legacy_mnist.fluid as fluid
    paddle.dataset.mnist           ->  legacy_mnist.dataset.mnist
Everything else is the book's flow, written against the fluid API: data -> conv-pool -> batch_norm ->
conv-pool -> fc softmax -> cross_entropy/mean/accuracy -> clone(for_test=True) -> Adam -> DataFeeder
loop over paddle.batch(paddle.reader.shuffle(...)) -> save_inference_model -> load_inference_model in a
fresh Scope -> predict. Its tests: tests/test_fluid_script.py.
"""
from __future__ import print_function

import argparse
import os
import random

import numpy
import paddle
from PIL import Image

import legacy_mnist.dataset.mnist  # was: import paddle.dataset.mnist (via import paddle)
import legacy_mnist.fluid as fluid  # was: import paddle.fluid as fluid

BATCH_SIZE = 64
NN_TYPES = ("softmax_regression", "multilayer_perceptron", "convolutional_neural_network")


def parse_args():
    parser = argparse.ArgumentParser("mnist")
    parser.add_argument("--enable_ce", action="store_true", help="fixed seeds, no shuffling (default: off)")
    parser.add_argument("--use_gpu", action="store_true", help="train on CUDAPlace(0) (default: CPU)")
    parser.add_argument("--num_epochs", type=int, default=5, help="number of epochs (default: 5)")
    parser.add_argument("--save_dirname", default=None, help="inference model directory (default: "
                        "recognize_digits_<nn_type>.inference.model)")
    parser.add_argument("--infer_image", default=None, help="a digit image to predict after training "
                        "(default: image/infer_3.png next to this script, skipped if absent)")
    return parser.parse_args()


def limited(reader, env_name):
    """Test harness, not fluid: the first $env_name samples of `reader` (all when the variable is unset)."""
    limit = int(os.environ.get(env_name) or 0)
    return paddle.reader.firstn(reader, limit) if limit > 0 else reader


def loss_net(hidden, label):
    prediction = fluid.layers.fc(input=hidden, size=10, act="softmax")
    loss = fluid.layers.cross_entropy(input=prediction, label=label)
    avg_loss = fluid.layers.mean(loss)
    acc = fluid.layers.accuracy(input=prediction, label=label)
    return prediction, avg_loss, acc


def multilayer_perceptron(img, label):
    img = fluid.layers.fc(input=img, size=200, act="tanh")
    hidden = fluid.layers.fc(input=img, size=200, act="tanh")
    return loss_net(hidden, label)


def softmax_regression(img, label):
    return loss_net(img, label)


def convolutional_neural_network(img, label):
    conv_pool_1 = fluid.nets.simple_img_conv_pool(
        input=img, filter_size=5, num_filters=20, pool_size=2, pool_stride=2, act="relu")
    conv_pool_1 = fluid.layers.batch_norm(conv_pool_1)
    conv_pool_2 = fluid.nets.simple_img_conv_pool(
        input=conv_pool_1, filter_size=5, num_filters=50, pool_size=2, pool_stride=2, act="relu")
    return loss_net(conv_pool_2, label)


def train(nn_type, use_cuda, num_epochs, enable_ce=False, save_dirname=None, model_filename=None,
          params_filename=None):
    """Train `nn_type`, print the book's progress lines; returns [(epoch, test_avg_cost, test_acc), ...]."""
    if use_cuda and not fluid.core.is_compiled_with_cuda():
        raise SystemExit("--use_gpu: this Paddle build has no CUDA")

    startup_program = fluid.default_startup_program()
    main_program = fluid.default_main_program()

    train_data = limited(legacy_mnist.dataset.mnist.train(), "FLUID_TRAIN_LIMIT")
    test_data = limited(legacy_mnist.dataset.mnist.test(), "FLUID_TEST_LIMIT")
    if enable_ce:
        train_reader = paddle.batch(train_data, batch_size=BATCH_SIZE)
        startup_program.random_seed = 90
        main_program.random_seed = 90
    else:
        train_reader = paddle.batch(paddle.reader.shuffle(train_data, buf_size=500), batch_size=BATCH_SIZE)
    test_reader = paddle.batch(test_data, batch_size=BATCH_SIZE)

    img = fluid.data(name="img", shape=[None, 1, 28, 28], dtype="float32")
    label = fluid.data(name="label", shape=[None, 1], dtype="int64")

    if nn_type == "softmax_regression":
        net_conf = softmax_regression
    elif nn_type == "multilayer_perceptron":
        net_conf = multilayer_perceptron
    else:
        net_conf = convolutional_neural_network

    prediction, avg_loss, acc = net_conf(img, label)

    test_program = main_program.clone(for_test=True)
    optimizer = fluid.optimizer.Adam(learning_rate=0.001)
    optimizer.minimize(avg_loss)

    def train_test(train_test_program, train_test_feed, train_test_reader):
        acc_set = []
        avg_loss_set = []
        for test_data in train_test_reader():
            acc_np, avg_loss_np = exe.run(
                program=train_test_program, feed=train_test_feed.feed(test_data), fetch_list=[acc, avg_loss])
            acc_set.append(float(acc_np))
            avg_loss_set.append(float(avg_loss_np))
        return numpy.array(avg_loss_set).mean(), numpy.array(acc_set).mean()

    place = fluid.CUDAPlace(0) if use_cuda else fluid.CPUPlace()
    exe = fluid.Executor(place)
    feeder = fluid.DataFeeder(feed_list=[img, label], place=place)
    exe.run(startup_program)

    lists = []
    step = 0
    for epoch_id in range(num_epochs):
        for step_id, data in enumerate(train_reader()):
            metrics = exe.run(main_program, feed=feeder.feed(data), fetch_list=[avg_loss, acc])
            if step % 100 == 0:
                print("Pass %d, Epoch %d, Cost %f" % (step, epoch_id, metrics[0]))
            step += 1
        avg_loss_val, acc_val = train_test(
            train_test_program=test_program, train_test_reader=test_reader, train_test_feed=feeder)
        print("Test with Epoch %d, avg_cost: %s, acc: %s" % (epoch_id, avg_loss_val, acc_val))
        lists.append((epoch_id, avg_loss_val, acc_val))
        if save_dirname is not None:
            fluid.io.save_inference_model(
                save_dirname, ["img"], [prediction], exe,
                model_filename=model_filename, params_filename=params_filename)

    best = sorted(lists, key=lambda item: float(item[1]))[0]
    print("Best pass is %s, testing Avgcost is %s" % (best[0], best[1]))
    print("The classification accuracy is %.2f%%" % (float(best[2]) * 100))
    return lists


def load_image(path):
    im = Image.open(path).convert("L")
    im = im.resize((28, 28), Image.LANCZOS)  # the book's Image.ANTIALIAS, removed in Pillow 10
    im = numpy.array(im).reshape(1, 1, 28, 28).astype(numpy.float32)
    return im / 255.0 * 2.0 - 1.0


def infer(use_cuda, save_dirname, image_path=None, model_filename=None, params_filename=None):
    """Load the exported model in a fresh scope; predict `image_path` and the (capped) test set.

    Returns (label predicted for the image or None, accuracy of the loaded model on the test set).
    """
    place = fluid.CUDAPlace(0) if use_cuda else fluid.CPUPlace()
    exe = fluid.Executor(place)

    inference_scope = fluid.core.Scope()
    with fluid.scope_guard(inference_scope):
        [inference_program, feed_target_names, fetch_targets] = fluid.io.load_inference_model(
            save_dirname, exe, model_filename, params_filename)

        image_label = None
        if image_path is not None and os.path.exists(image_path):
            results = exe.run(inference_program, feed={feed_target_names[0]: load_image(image_path)},
                              fetch_list=fetch_targets)
            image_label = int(numpy.argsort(results)[0][0][-1])
            print("Inference result of %s is: %d" % (os.path.basename(image_path), image_label))

        correct = total = 0
        test_reader = paddle.batch(limited(legacy_mnist.dataset.mnist.test(), "FLUID_TEST_LIMIT"),
                                   batch_size=BATCH_SIZE)
        for data in test_reader():
            images = numpy.array([x[0] for x in data]).reshape(-1, 1, 28, 28).astype("float32")
            labels = numpy.array([x[1] for x in data])
            probs = exe.run(inference_program, feed={feed_target_names[0]: images},
                            fetch_list=fetch_targets)[0]
            correct += int((probs.argmax(axis=1) == labels).sum())
            total += len(labels)
        accuracy = correct / float(total)
        print("Inference accuracy of the loaded model on %d test images: %.4f" % (total, accuracy))
    return image_label, accuracy


def main(use_cuda, nn_type, num_epochs, enable_ce=False, save_dirname=None, infer_image=None):
    save_dirname = save_dirname or "recognize_digits_" + nn_type + ".inference.model"
    if infer_image is None:
        infer_image = os.path.join(os.path.dirname(os.path.realpath(__file__)), "image", "infer_3.png")
    train(nn_type=nn_type, use_cuda=use_cuda, num_epochs=num_epochs, enable_ce=enable_ce,
          save_dirname=save_dirname)
    infer(use_cuda=use_cuda, save_dirname=save_dirname, image_path=infer_image)


if __name__ == "__main__":
    args = parse_args()
    if os.environ.get("FLUID_SEED"):  # test harness, not fluid: a reproducible run
        random.seed(int(os.environ["FLUID_SEED"]))
        paddle.seed(int(os.environ["FLUID_SEED"]))
    nn_type = os.environ.get("FLUID_NN_TYPE") or "convolutional_neural_network"
    if nn_type not in NN_TYPES:
        raise SystemExit("FLUID_NN_TYPE must be one of %s" % ", ".join(NN_TYPES))
    main(use_cuda=args.use_gpu, nn_type=nn_type, num_epochs=args.num_epochs, enable_ce=args.enable_ce,
         save_dirname=args.save_dirname, infer_image=args.infer_image)
