#!/usr/bin/python3
"""Writes a tiny CIFAR-10 "python version" (cifar-10-batches-py) in the layout of the
published files that torchvision's datasets.CIFAR10 downloads and reads, for data/'s tests.

The published batches were written by Python 2's cPickle, protocol 2: a dict whose keys are
Python 2 str (BINSTRING opcodes; Python 3 reads them as bytes with encoding='bytes', or as str
with torchvision's encoding='latin1'), 'labels' a list of ints, 'data' a numpy uint8 array of
shape (n, 3072) pickled as numpy.core.multiarray._reconstruct + BUILD whose raw data is a
Python 2 str, 'filenames' a list of str, 'batch_label' a str. Python 3 cannot write Python 2
str objects, so this script emits those opcodes itself (as cPickle does: strings of 2 or more
characters and globals memoized with BINPUT, temporary tuples not) and then checks the result
with pickle.load exactly as torchvision does (encoding='latin1') and with encoding='bytes'.

It also writes, for the same images, the binary version (<name>.bin: label byte + 3072 bytes
per image) that the Go tests compare against, and the same first batch re-pickled by Python 3
with protocols 2 and 4 (bytes keys; _codecs.encode / BINBYTES raw data).

Run from the repository root:  /usr/bin/python3 tools/golden/cifar_pickle_gen.py
"""
import os
import pickle
import struct

import numpy as np

N = 3  # images per batch (the published batches hold 10000)
OUT = "data/testdata/cifar-10-batches-py"
BIN = "data/testdata/cifar-10-expected-bin"
PY3 = "data/testdata/cifar-10-py3"


class P2:
    """A minimal emitter of Python 2 cPickle protocol-2 opcodes."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        self.memo += 1
        if self.memo < 256:
            self.out += b"q" + bytes([self.memo])
        else:
            self.out += b"r" + struct.pack("<I", self.memo)

    def str(self, s):  # a Python 2 str
        if isinstance(s, str):
            s = s.encode("latin1")
        if len(s) < 256:
            self.out += b"U" + bytes([len(s)]) + s
        else:
            self.out += b"T" + struct.pack("<i", len(s)) + s
        if len(s) >= 2:
            self.put()

    def int(self, v):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        else:
            self.out += b"J" + struct.pack("<i", v)

    def glob(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.put()

    def list(self, items, emit):
        self.out += b"]"
        self.put()
        for i in range(0, len(items), 1000):
            self.out += b"("
            for x in items[i:i + 1000]:
                emit(x)
            self.out += b"e"

    def ndarray_u8(self, a):
        assert a.dtype == np.uint8 and a.flags["C_CONTIGUOUS"]
        self.glob("numpy.core.multiarray", "_reconstruct")
        self.glob("numpy", "ndarray")
        self.int(0)
        self.out += b"\x85"  # TUPLE1: shape (0,)
        self.str("b")
        self.out += b"\x87R"  # TUPLE3, REDUCE
        self.put()
        self.out += b"("  # state: (1, shape, dtype, False, raw)
        self.int(1)
        for d in a.shape:
            self.int(d)
        self.out += b"\x86"  # TUPLE2 (2-d shape)
        self.glob("numpy", "dtype")
        self.str("u1")
        self.int(0)
        self.int(1)
        self.out += b"\x87R"
        self.put()
        self.out += b"("  # dtype state (3, '|', None, None, None, -1, -1, 0)
        self.int(3)
        self.str("|")
        self.out += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
        self.int(0)
        self.out += b"tb"  # TUPLE, BUILD
        self.out += b"\x89"  # NEWFALSE: C order
        self.str(a.tobytes())
        self.out += b"tb"

    def dict(self, items):
        self.out += b"}"
        self.put()
        self.out += b"("
        for k, v in items:
            self.str(k)
            v(self)
        self.out += b"u"

    def finish(self):
        return bytes(self.out + b".")


def batch(seed, label):
    rng = np.random.RandomState(seed)
    data = rng.randint(0, 256, size=(N, 3072)).astype(np.uint8)
    labels = [int(x) for x in rng.randint(0, 10, size=N)]
    names = ["img_%d_%06d.png" % (seed, i) for i in range(N)]
    return label, data, labels, names


def write_py2(path, b):
    label, data, labels, names = b
    p = P2()
    p.dict([
        ("data", lambda p: p.ndarray_u8(data)),
        ("labels", lambda p: p.list(labels, p.int)),
        ("batch_label", lambda p: p.str(label)),
        ("filenames", lambda p: p.list(names, p.str)),
    ])
    with open(path, "wb") as f:
        f.write(p.finish())


def check(path, b):
    # torchvision: entry = pickle.load(f, encoding="latin1"); entry["data"], entry["labels"]
    with open(path, "rb") as f:
        e = pickle.load(f, encoding="latin1")
    assert e["data"].dtype == np.uint8 and e["data"].shape == (N, 3072)
    assert (e["data"] == b[1]).all() and e["labels"] == b[2] and e["batch_label"] == b[0]
    with open(path, "rb") as f:
        e = pickle.load(f, encoding="bytes")
    assert set(e) == {b"data", b"labels", b"batch_label", b"filenames"}
    assert (e[b"data"] == b[1]).all()


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(BIN, exist_ok=True)
    os.makedirs(PY3, exist_ok=True)
    files = [("data_batch_%d" % i, "training batch %d of 5" % i) for i in range(1, 6)]
    files.append(("test_batch", "testing batch 1 of 1"))
    for k, (name, label) in enumerate(files):
        b = batch(100 + k, label)
        path = os.path.join(OUT, name)
        write_py2(path, b)
        check(path, b)
        rec = bytearray()
        for i in range(N):
            rec += bytes([b[2][i]]) + b[1][i].tobytes()
        with open(os.path.join(BIN, name + ".bin"), "wb") as f:
            f.write(rec)
        if k == 0:
            d = {b"batch_label": label.encode(), b"labels": b[2], b"data": b[1],
                 b"filenames": [n.encode() for n in b[3]]}
            for proto in (2, 4):
                with open(os.path.join(PY3, "data_batch_1.proto%d" % proto), "wb") as f:
                    pickle.dump(d, f, protocol=proto)
    meta = P2()
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    meta.dict([
        ("num_cases_per_batch", lambda p: p.int(N)),
        ("label_names", lambda p: p.list(names, p.str)),
        ("num_vis", lambda p: p.int(3072)),
    ])
    with open(os.path.join(OUT, "batches.meta"), "wb") as f:
        f.write(meta.finish())
    with open(os.path.join(OUT, "batches.meta"), "rb") as f:
        assert pickle.load(f, encoding="latin1")["label_names"] == names


if __name__ == "__main__":
    main()
