#!/usr/bin/env python3
"""Convert a facebookresearch/denoiser Demucs checkpoint (.th) to safetensors
plus a config JSON for `wavetensor denoise`.

Needs only PyTorch (numpy is used when present). Accepts the released
pre-trained state dicts (dns48, dns64, master64) and the training
checkpoints/serialized packages of the denoiser repository (dicts with
'class'/'args'/'kwargs'/'state', or with 'model' and 'best_state').

    python3 tools/demucs_convert.py dns48-11decc9d8e3f0998.th dns48.safetensors \
        --preset dns48 [--config dns48.json] [--f16]

Tensor names are the state_dict names unchanged (encoder.0.0.weight,
lstm.lstm.weight_ih_l0, ...). The config (the reference constructor's
keyword arguments) is written to --config (default: OUT with .json) and also
stored in the safetensors metadata under "config", so `wavetensor denoise
--weights OUT.safetensors` finds it without --config.
"""
import argparse
import json
import os
import struct
import sys

import torch

DEFAULTS = dict(chin=1, chout=1, hidden=48, depth=5, kernel_size=8, stride=4,
                causal=True, resample=4, growth=2, max_hidden=10000,
                normalize=True, glu=True, rescale=0.1, floor=1e-3,
                sample_rate=16000)
# The released models: denoiser/pretrained.py builds them as Demucs(hidden=H).
PRESETS = {"dns48": dict(hidden=48), "dns64": dict(hidden=64),
           "master64": dict(hidden=64)}


def unpack(obj):
    """Returns (state_dict, kwargs or None) from any supported checkpoint."""
    if isinstance(obj, dict) and "state" in obj and "kwargs" in obj:
        return obj["state"], dict(obj["kwargs"])
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        pkg = obj["model"]
        state = obj.get("best_state") or pkg.get("state")
        return state, dict(pkg.get("kwargs", {}))
    if isinstance(obj, dict) and all(torch.is_tensor(v) for v in obj.values()):
        return obj, None
    raise SystemExit("demucs_convert: unrecognised checkpoint layout")


def infer_kwargs(state):
    """What the state dict itself says about the architecture."""
    w0 = state["encoder.0.0.weight"]
    hidden, chin, kernel = w0.shape
    depth = len({k.split(".")[1] for k in state if k.startswith("encoder.")})
    glu = state["encoder.0.2.weight"].shape[0] == 2 * hidden
    causal = "lstm.linear.weight" not in state
    chout = state["decoder.%d.2.weight" % (depth - 1)].shape[1]
    return dict(hidden=int(hidden), chin=int(chin), chout=int(chout),
                kernel_size=int(kernel), depth=depth, glu=bool(glu),
                causal=bool(causal))


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    try:
        return t.numpy().tobytes()
    except (RuntimeError, TypeError, ImportError):
        fmt = {torch.float32: "f", torch.float16: "e"}[t.dtype]
        return struct.pack("<%d%s" % (t.numel(), fmt), *t.view(-1).tolist())


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        dtype = {torch.float32: "F32", torch.float16: "F16"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # 8-byte aligned data section
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("output", help="OUT.safetensors")
    ap.add_argument("--config", help="config JSON path (default: OUT with .json)")
    ap.add_argument("--preset", choices=sorted(PRESETS),
                    help="released model whose constructor arguments to use")
    ap.add_argument("--f16", action="store_true", help="store weights as float16")
    args = ap.parse_args()

    obj = torch.load(args.checkpoint, map_location="cpu")
    state, kwargs = unpack(obj)
    cfg = dict(DEFAULTS)
    if args.preset:
        cfg.update(PRESETS[args.preset])
    if kwargs:
        cfg.update({k: v for k, v in kwargs.items() if k in DEFAULTS})
    inferred = infer_kwargs(state)
    for k, v in inferred.items():
        if kwargs and k in kwargs and kwargs[k] != v:
            sys.exit("demucs_convert: checkpoint kwargs say %s=%r, weights say %r"
                     % (k, kwargs[k], v))
        cfg[k] = v
    dtype = torch.float16 if args.f16 else torch.float32
    tensors = {k: v.to(dtype) for k, v in state.items()
               if torch.is_tensor(v) and v.is_floating_point()}
    config_text = json.dumps(cfg, indent=1)
    write_safetensors(args.output, tensors, {"config": json.dumps(cfg),
                                             "format": "demucs-denoiser"})
    cfg_path = args.config or os.path.splitext(args.output)[0] + ".json"
    with open(cfg_path, "w") as f:
        f.write(config_text + "\n")
    print("wrote %s (%d tensors) and %s" % (args.output, len(tensors), cfg_path))


if __name__ == "__main__":
    main()
