#!/usr/bin/env python3
"""Convert a Hugging Face Llama checkpoint (config.json + model.safetensors)
to the legacy float32 checkpoint format of karpathy/llama2.c's run.c, so the
same model can be timed with both programs (bench/ comparisons).

Plain Python 3 standard library: the safetensors header is JSON after an
8-byte little-endian length; F32, F16 and BF16 tensors are read with struct
and array. The llama2.c format is seven int32 (dim, hidden_dim, n_layers,
n_heads, n_kv_heads, vocab_size (negative when the classifier is not the
embedding), seq_len) followed by float32 arrays: embedding, attention norms,
wq, wk, wv, wo, ffn norms, w1 (gate), w2 (down), w3 (up), final norm, two
unused RoPE tables (seq_len * head_dim / 2 each), then the classifier when
untied.

run.c rotates adjacent pairs (2j, 2j+1) while Hugging Face rotates (j,
j + head_dim/2), so the rows of every q/k head are put back in adjacent
order: llama2.c row 2j = HF row j, row 2j+1 = HF row head_dim/2 + j.

  llama_to_llama2c.py MODEL_DIR OUT.bin [--weights FILE] [--tokenizer-out TOK.bin]
  llama_to_llama2c.py --random CONFIG.json OUT.bin [--tokenizer-out TOK.bin]

--random writes weights of the config's shapes filled with a repeated block
of pseudo-random values (a speed test only needs the bytes to be streamed).
--tokenizer-out writes a placeholder tokenizer.bin with the model's vocabulary
size (<unk>, <s>, </s>, 256 byte tokens, then "tN"), which run.c needs to
start; it is only good for timing runs from BOS with an empty prompt.
"""
import argparse
import array
import json
import os
import random
import struct
import sys


def fail(msg):
    sys.stderr.write("llama_to_llama2c: %s\n" % msg)
    sys.exit(1)


class SafeTensors:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                fail("%s: not a safetensors file" % path)
            (n,) = struct.unpack("<Q", head)
            if n > 100_000_000:
                fail("%s: header length %d is absurd" % (path, n))
            self.header = json.loads(f.read(n).decode("utf-8"))
            self.base = 8 + n
        self.header.pop("__metadata__", None)

    def floats(self, name, shape):
        """The tensor as an array('f') (row-major), after checking its shape."""
        e = self.header.get(name)
        if e is None:
            fail("%s: missing tensor %s" % (self.path, name))
        if list(e["shape"]) != list(shape):
            fail("%s: %s: expected shape %s, found %s" % (self.path, name, shape, e["shape"]))
        a, b = e["data_offsets"]
        with open(self.path, "rb") as f:
            f.seek(self.base + a)
            raw = f.read(b - a)
        dt = e["dtype"]
        if dt == "F32":
            out = array.array("f")
            out.frombytes(raw)
        elif dt == "F16":
            out = array.array("f", struct.unpack("<%de" % (len(raw) // 2), raw))
        elif dt == "BF16":
            h = array.array("H")
            h.frombytes(raw)
            u = array.array("I", (x << 16 for x in h))
            out = array.array("f")
            out.frombytes(u.tobytes())
        else:
            fail("%s: %s has dtype %s (F32, F16 or BF16 expected)" % (self.path, name, dt))
        if sys.byteorder != "little":
            out.byteswap()
        return out


def to_adjacent_pairs(w, heads, head_dim, cols):
    """Reorder the rows of each head from HF halves to llama2.c pairs."""
    out = array.array("f", bytes(4 * len(w)))
    half = head_dim // 2
    for h in range(heads):
        for j in range(half):
            for src, dst in ((j, 2 * j), (half + j, 2 * j + 1)):
                s = (h * head_dim + src) * cols
                d = (h * head_dim + dst) * cols
                out[d:d + cols] = w[s:s + cols]
    return out


def read_config(path):
    with open(path) as f:
        c = json.load(f)
    cfg = {
        "dim": c["hidden_size"], "hidden": c["intermediate_size"], "layers": c["num_hidden_layers"],
        "heads": c["num_attention_heads"], "kv_heads": c.get("num_key_value_heads", c["num_attention_heads"]),
        "vocab": c["vocab_size"], "seq_len": c.get("max_position_embeddings", 2048),
        "tied": bool(c.get("tie_word_embeddings", False)),
    }
    hd = c.get("head_dim", cfg["dim"] // cfg["heads"])
    if hd * cfg["heads"] != cfg["dim"]:
        fail("%s: run.c needs head_dim == hidden_size / num_attention_heads" % path)
    cfg["head_dim"] = hd
    return cfg


def write_header(f, c):
    vocab = c["vocab"] if c["tied"] else -c["vocab"]
    f.write(struct.pack("<7i", c["dim"], c["hidden"], c["layers"], c["heads"], c["kv_heads"], vocab,
                        c["seq_len"]))


def tensor_list(c):
    """(name pattern, shape, per-layer, rope-heads) in llama2.c file order."""
    D, I, hd = c["dim"], c["hidden"], c["head_dim"]
    q, kv = c["heads"] * hd, c["kv_heads"] * hd
    L = "model.layers.%d."
    return [
        ("model.embed_tokens.weight", [c["vocab"], D], False, 0),
        (L + "input_layernorm.weight", [D], True, 0),
        (L + "self_attn.q_proj.weight", [q, D], True, c["heads"]),
        (L + "self_attn.k_proj.weight", [kv, D], True, c["kv_heads"]),
        (L + "self_attn.v_proj.weight", [kv, D], True, 0),
        (L + "self_attn.o_proj.weight", [D, q], True, 0),
        (L + "post_attention_layernorm.weight", [D], True, 0),
        (L + "mlp.gate_proj.weight", [I, D], True, 0),
        (L + "mlp.down_proj.weight", [D, I], True, 0),
        (L + "mlp.up_proj.weight", [I, D], True, 0),
        ("model.norm.weight", [D], False, 0),
    ]


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def convert(model_dir, weights, out):
    c = read_config(os.path.join(model_dir, "config.json"))
    st = SafeTensors(weights or os.path.join(model_dir, "model.safetensors"))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        write_header(f, c)
        for name, shape, per_layer, rope_heads in tensor_list(c):
            for l in range(c["layers"] if per_layer else 1):
                w = st.floats(name % l if per_layer else name, shape)
                if rope_heads:
                    w = to_adjacent_pairs(w, rope_heads, c["head_dim"], shape[1])
                w.tofile(f)
        f.write(bytes(4 * c["seq_len"] * c["head_dim"]))  # the two unused RoPE tables
        if not c["tied"]:
            st.floats("lm_head.weight", [c["vocab"], c["dim"]]).tofile(f)
    os.replace(tmp, out)
    return c


def random_model(config, out):
    c = read_config(config)
    rng = random.Random(1234)
    block = array.array("f", (rng.uniform(-0.05, 0.05) for _ in range(1 << 16)))
    ones = array.array("f", [1.0]) * c["dim"]
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        write_header(f, c)
        for name, shape, per_layer, _ in tensor_list(c):
            for _ in range(c["layers"] if per_layer else 1):
                n = numel(shape)
                if len(shape) == 1:
                    ones.tofile(f)
                    continue
                full, rest = divmod(n, len(block))
                for _ in range(full):
                    block.tofile(f)
                block[:rest].tofile(f)
        f.write(bytes(4 * c["seq_len"] * c["head_dim"]))
        if not c["tied"]:
            n = c["vocab"] * c["dim"]
            full, rest = divmod(n, len(block))
            for _ in range(full):
                block.tofile(f)
            block[:rest].tofile(f)
    os.replace(tmp, out)
    return c


def placeholder_tokenizer(vocab, out):
    pieces = [b"<unk>", b"<s>", b"</s>"] + [b"<0x%02X>" % i for i in range(256)]
    pieces += [b"t%d" % i for i in range(len(pieces), vocab)]
    pieces = pieces[:vocab]
    with open(out, "wb") as f:
        f.write(struct.pack("<i", max(len(p) for p in pieces)))
        for p in pieces:
            f.write(struct.pack("<fi", 0.0, len(p)))
            f.write(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="model directory, or config.json with --random")
    ap.add_argument("out", help="output llama2.c checkpoint (.bin)")
    ap.add_argument("--weights", help="safetensors file instead of DIR/model.safetensors")
    ap.add_argument("--random", action="store_true", help="random weights of the config's shapes")
    ap.add_argument("--tokenizer-out", help="also write a placeholder tokenizer.bin")
    a = ap.parse_args()
    c = random_model(a.source, a.out) if a.random else convert(a.source, a.weights, a.out)
    if a.tokenizer_out:
        placeholder_tokenizer(c["vocab"], a.tokenizer_out)


if __name__ == "__main__":
    main()
