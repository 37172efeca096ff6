#!/usr/bin/env python3
"""Benchmark wavetensor against the reference PyTorch models, in one run.

Runs, one thread each, with random weights of the published shapes:
  * Mimi v0.1 (kyutai-labs/moshi, MimiModel built as moshi's loaders.get_mimi
    builds it): streaming encode / decode ms per 80 ms frame through moshi's
    streaming API, and offline real-time factor on ~10 s of audio;
  * causal Demucs dns48 and dns64 (facebookresearch/denoiser): DemucsStreamer
    ms per stride frame (num_frames=1) on real speech, and offline RTF;
then `wavetensor bench mimi|demucs --json` (f32 and bf16 weights) and an
offline `wavetensor denoise` on the same speech with the reference's random
weights, and prints one table: reference vs ours, with the machine load.

The reference is optional and not part of the test suite. It needs PyTorch
(Debian: `apt-get install python3-torch`, torch 1.13) and the references'
public sources, which this script imports from the paths you give it:

    git clone https://github.com/kyutai-labs/moshi /tmp/ref/moshi
    git clone https://github.com/facebookresearch/denoiser /tmp/ref/denoiser
    /usr/bin/python3 tools/bench_reference.py --build build \\
        --moshi-src /tmp/ref/moshi/moshi --denoiser-src /tmp/ref/denoiser

(--moshi-src is the folder holding the `moshi` package, --denoiser-src the one
holding the `denoiser` package.) moshi wants torch >= 2 and a few packages
Debian lacks; this script bridges only what Mimi inference touches: einops'
rearrange/repeat (a small local equivalent), F.scaled_dot_product_attention
(a plain softmax(QK^T)V with the boolean mask, when torch lacks it), and the
package __init__ files that pull in the LM, the HF hub and sentencepiece are
skipped. torch.compile is disabled (NO_TORCH_COMPILE=1), as on torch 1.13 it
does not exist.
"""
import argparse
import json
import math
import os
import platform
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time
import types
import wave

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_str():
    return "%.2f %.2f %.2f" % os.getloadavg()


# --------------------------------------------------------------------------
# Shims for the reference's imports (only what Mimi inference uses).

def _einops_groups(side):
    """'b t (p h d)' -> [['b'], ['t'], ['p', 'h', 'd']]; '()' -> []."""
    groups, cur = [], None
    for tok in re.findall(r"\.\.\.|\(|\)|\w+", side):
        if tok == "(":
            cur = []
        elif tok == ")":
            groups.append(cur)
            cur = None
        elif cur is not None:
            cur.append(tok)
        else:
            groups.append([tok])
    return groups


def _einops_plan(x, pattern, sizes):
    """Decomposes x's axes by the left side; returns (x split into one axis per
    name, names, sizes by name, right-side groups with '...' expanded)."""
    lhs, rhs = pattern.split("->")
    left, right = _einops_groups(lhs), _einops_groups(rhs)
    sizes = dict(sizes)
    n_ell = x.dim() - sum(1 for g in left if g != ["..."])
    ell = ["_ell%d" % i for i in range(max(n_ell, 0))]
    names, split, dim = [], [], 0
    for g in left:
        if g == ["..."]:
            for n in ell:
                sizes[n] = x.shape[dim]
                names.append(n)
                split.append(x.shape[dim])
                dim += 1
            continue
        total = x.shape[dim]
        dim += 1
        known = math.prod(sizes[n] for n in g if n in sizes)
        unknown = [n for n in g if n not in sizes]
        if len(unknown) > 1:
            raise ValueError("einops shim: cannot infer %s in %r" % (unknown, pattern))
        if unknown:
            sizes[unknown[0]] = total // known
        for n in g:
            names.append(n)
            split.append(sizes[n])
    expanded = []
    for g in right:
        out = []
        for n in g:
            out.extend(ell if n == "..." else [n])
        expanded.append(out)
    return x.reshape(split), names, sizes, expanded


def _rearrange(x, pattern, **sizes):
    x, names, sizes, right = _einops_plan(x, pattern, sizes)
    order = [names.index(n) for g in right for n in g]
    x = x.permute(order)
    return x.reshape([math.prod(sizes[n] for n in g) for g in right])


def _repeat(x, pattern, **sizes):
    x, names, sizes, right = _einops_plan(x, pattern, sizes)
    flat = [n for g in right for n in g]
    x = x.permute([names.index(n) for n in flat if n in names])
    # new axes (absent on the left) are inserted with size 1, then expanded
    shape, have = [], iter(x.shape)
    for n in flat:
        shape.append(next(have) if n in names else 1)
    x = x.reshape(shape).expand([sizes[n] for n in flat])
    return x.reshape([math.prod(sizes[n] for n in g) for g in right])


def install_shims(torch):
    if "einops" not in sys.modules:
        try:
            import einops  # noqa: F401  (use the real one when installed)
        except ImportError:
            mod = types.ModuleType("einops")
            mod.rearrange, mod.repeat = _rearrange, _repeat
            sys.modules["einops"] = mod
    F = torch.nn.functional
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
            assert dropout_p == 0.0 and not is_causal
            s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
            w = torch.matmul(q, k.transpose(-2, -1)) * s
            if attn_mask is not None:
                if attn_mask.dtype == torch.bool:
                    w = w.masked_fill(~attn_mask, float("-inf"))
                else:
                    w = w + attn_mask
            return torch.matmul(w.softmax(dim=-1), v)
        F.scaled_dot_product_attention = sdpa


def bare_package(name, path):
    """Registers package `name` at `path` without running its __init__.py."""
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    sys.modules[name] = mod


# --------------------------------------------------------------------------
# Reference: Mimi

def build_ref_mimi(torch, src, cfg):
    pkg = os.path.join(src, "moshi")
    if not os.path.isfile(os.path.join(pkg, "models", "compression.py")):
        sys.exit("bench_reference: %s has no moshi/models/compression.py "
                 "(--moshi-src is the folder that holds the moshi package)" % src)
    os.environ.setdefault("NO_TORCH_COMPILE", "1")
    install_shims(torch)
    sys.path.insert(0, src)
    # moshi/__init__ and moshi/models/__init__ import the LM, HF hub and
    # sentencepiece; Mimi needs none of them.
    bare_package("moshi", pkg)
    bare_package("moshi.models", os.path.join(pkg, "models"))
    from moshi.models.compression import MimiModel
    from moshi.modules.seanet import SEANetEncoder, SEANetDecoder
    from moshi.modules import transformer
    from moshi.quantization import SplitResidualVectorQuantizer

    # as moshi.models.loaders.get_mimi(None, cfg) does
    encoder = SEANetEncoder(**cfg["seanet"])
    decoder = SEANetDecoder(**cfg["seanet"])
    enc_tr = transformer.ProjectedTransformer(device="cpu", **cfg["transformer"])
    dec_tr = transformer.ProjectedTransformer(device="cpu", **cfg["transformer"])
    quantizer = SplitResidualVectorQuantizer(**cfg["quantizer"])
    model = MimiModel(encoder, decoder, quantizer, channels=cfg["channels"],
                      sample_rate=cfg["sample_rate"], frame_rate=cfg["frame_rate"],
                      encoder_frame_rate=cfg["sample_rate"] / encoder.hop_length,
                      causal=True, resample_method="conv",
                      encoder_transformer=enc_tr, decoder_transformer=dec_tr)
    model.eval()
    # random codebooks (the defaults are all-zero, uninitialized)
    for name, buf in model.named_buffers():
        if name.endswith("embedding_sum"):
            buf.normal_()
        elif name.endswith("_initialized"):
            buf.fill_(1)
    model.set_num_codebooks(cfg.get("num_codebooks", 8))
    return model


def bench_ref_mimi(torch, model, frames, warmup, offline_s):
    fs = model.frame_size
    sr = model.sample_rate
    frame_ms = 1e3 * fs / sr
    g = torch.Generator().manual_seed(1)
    pcm = 0.1 * (torch.rand(1, 1, fs * (frames + warmup), generator=g) - 0.5)
    te = td = ce = cd = 0.0
    with torch.no_grad(), model.streaming(1):
        for t in range(frames + warmup):
            x = pcm[:, :, t * fs:(t + 1) * fs]
            c0, t0 = time.process_time(), time.perf_counter()
            codes = model.encode(x)
            c1, t1 = time.process_time(), time.perf_counter()
            y = model.decode(codes)
            c2, t2 = time.process_time(), time.perf_counter()
            assert codes.shape[-1] == 1 and y.shape[-1] == fs, (codes.shape, y.shape)
            if t >= warmup:
                te += t1 - t0
                td += t2 - t1
                ce += c1 - c0
                cd += c2 - c1
    n = int(round(offline_s * sr / fs)) * fs
    x = 0.1 * (torch.rand(1, 1, n, generator=g) - 0.5)
    with torch.no_grad():
        c0, t0 = time.process_time(), time.perf_counter()
        codes = model.encode(x)
        t1 = time.perf_counter()
        model.decode(codes)
        c2, t2 = time.process_time(), time.perf_counter()
    audio_s = n / sr
    return dict(frame_ms=frame_ms, enc_ms=1e3 * te / frames, dec_ms=1e3 * td / frames,
                enc_cpu_ms=1e3 * ce / frames, dec_cpu_ms=1e3 * cd / frames,
                off_enc_rtf=(t1 - t0) / audio_s, off_dec_rtf=(t2 - t1) / audio_s,
                off_rtf=(t2 - t0) / audio_s, off_cpu_rtf=(c2 - c0) / audio_s)


# --------------------------------------------------------------------------
# Reference: Demucs

def read_speech(folder, np):
    """All 16-bit mono WAVs in `folder`, concatenated, as float32 in [-1, 1]."""
    parts, rate = [], None
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".wav"):
            continue
        with wave.open(os.path.join(folder, name)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                continue
            rate = rate or w.getframerate()
            if w.getframerate() != rate:
                continue
            parts.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))
    if not parts:
        sys.exit("bench_reference: no 16-bit mono WAV in %s" % folder)
    return np.concatenate(parts).astype(np.float32) / 32768.0, rate


def loop_to(np, x, n):
    return np.tile(x, -(-n // len(x)))[:n]


def bench_ref_demucs(torch, np, Demucs, DemucsStreamer, cfg, speech, steps, warmup, offline_s):
    torch.manual_seed(0)
    model = Demucs(**cfg)
    model.eval()
    sr = cfg["sample_rate"]
    wav = torch.from_numpy(speech)[None]  # [1, T]
    with torch.no_grad():
        st = DemucsStreamer(model, dry=0, num_frames=1)
        stride, total = st.stride, st.total_length
        need = total + (steps + warmup + 1) * stride
        x = torch.from_numpy(loop_to(np, speech, need))[None]
        st.feed(x[:, :total - stride])  # fill the window: each feed below runs one frame
        pos, cpu, times = total - stride, 0.0, []
        for k in range(steps + warmup):
            c0, t0 = time.process_time(), time.perf_counter()
            out = st.feed(x[:, pos:pos + stride])
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            assert out.shape[-1] == stride, out.shape
            if k >= warmup:
                times.append(dt)
                cpu += dc
            pos += stride
        n = int(offline_s * sr)
        xo = wav[:, :n]
        c0, t0 = time.process_time(), time.perf_counter()
        y = model(xo[None])
        off, off_cpu = time.perf_counter() - t0, time.process_time() - c0
    times.sort()
    stride_ms = 1e3 * stride / sr
    return model, dict(stride_ms=stride_ms, ms=1e3 * sum(times) / len(times),
                       cpu_ms=1e3 * cpu / len(times), off_cpu_rtf=off_cpu / (xo.shape[-1] / sr),
                       p50=1e3 * times[len(times) // 2], latency_ms=1e3 * total / sr,
                       off_rtf=off / (xo.shape[-1] / sr)), y[0, 0].numpy()


def write_wav16(path, x, rate, np):
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wav_float(path, np):
    """Mono 32-bit float (format 3) or 16-bit PCM WAV data as float32."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("%s: not a WAV file" % path)
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            if fmt and fmt[0] in (3, 0xFFFE) and fmt[5] == 32:
                return np.frombuffer(body, dtype="<f4")
            if fmt and fmt[5] == 16:
                return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
            raise ValueError("%s: unsupported WAV encoding %r" % (path, fmt))
        pos += 8 + size + (size & 1)
    raise ValueError("%s: no data chunk" % path)


# --------------------------------------------------------------------------
# Ours

def run_json(cmd, env):
    log("  $ " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if p.returncode != 0:
        sys.exit("bench_reference: %s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.strip()))
    return json.loads(p.stdout.strip().splitlines()[-1])


def find_tool(build, name):
    path = os.path.join(build, name)
    if not os.access(path, os.X_OK):
        sys.exit("bench_reference: %s not found; build first (cmake --build %s)" % (path, build))
    return path


def demucs_cli_cmd(build):
    """`wavetensor bench demucs` when the CLI has it, else bench_demucs."""
    cli = find_tool(build, "wavetensor")
    p = subprocess.run([cli, "bench", "demucs", "--help"], capture_output=True, text=True)
    if p.returncode == 0 and "--json" in p.stdout:
        return [cli, "bench", "demucs"]
    return [find_tool(build, "bench_demucs")]


# --------------------------------------------------------------------------

def fmt_row(cells, widths):
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"


def print_table(rows):
    head = ["model", "mode", "ours dtype", "ref ms/frame (RTF)", "ours ms/frame (RTF)", "ref/ours",
            "ref CPU ms", "ours CPU ms", "CPU ref/ours"]

    def ms(v, frame_ms=None):
        if v is None:
            return "-"
        return "%.2f (%.3f)" % (v, v / frame_ms) if frame_ms else "%.2f" % v

    def ratio(a, b):
        return "%.1fx" % (a / b) if a and b else "-"

    body = []
    for r in rows:
        body.append([r["model"], r["mode"], r["dtype"], ms(r["ref"], r["frame_ms"]),
                     ms(r["ours"], r["frame_ms"]), ratio(r["ref"], r["ours"]),
                     ms(r.get("ref_cpu")), ms(r.get("ours_cpu")),
                     ratio(r.get("ref_cpu"), r.get("ours_cpu"))])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    print(fmt_row(head, widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for b in body:
        print(fmt_row(b, widths))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moshi-src", help="folder holding the moshi package (kyutai-labs/moshi/moshi)")
    ap.add_argument("--denoiser-src", help="folder holding the denoiser package (facebookresearch/denoiser)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="wavetensor build folder")
    ap.add_argument("--dtypes", default="f32,bf16", help="our weight dtypes (default f32,bf16)")
    ap.add_argument("--frames", type=int, default=20, help="Mimi streaming frames timed (default 20)")
    ap.add_argument("--offline-seconds", type=float, default=10.0, help="offline audio length (default 10)")
    ap.add_argument("--demucs-frames", type=int, default=300,
                    help="DemucsStreamer frames timed (default 300, ~4.8 s of audio)")
    ap.add_argument("--speech", default="/work/shared/data/speech16k/noisy",
                    help="folder of 16 kHz speech WAVs for Demucs")
    ap.add_argument("--json-out", help="also write all numbers to this JSON file")
    args = ap.parse_args()
    if not args.moshi_src and not args.denoiser_src:
        ap.error("give --moshi-src and/or --denoiser-src (see the instructions below --help)")

    # One thread for the reference: torch.set_num_threads does not reach the
    # BLAS that Debian's torch links (OpenBLAS), whose own worker threads
    # would otherwise run (and spin) beside the main one.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import numpy as np
        import torch
    except ImportError as e:
        sys.exit("bench_reference: needs PyTorch and numpy (Debian: apt-get install python3-torch): %s" % e)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    env = dict(os.environ)
    dtypes = [d for d in args.dtypes.split(",") if d]
    cli = find_tool(args.build, "wavetensor")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), platform.processor())
    info = dict(torch=torch.__version__, cpu=cpu, ncpu=os.cpu_count(), load_start=load_str(),
                torch_threads=torch.get_num_threads(),
                blas_threads=os.environ["OPENBLAS_NUM_THREADS"])
    log("bench_reference: torch %s, %s, %d CPUs, load %s" % (torch.__version__, cpu,
                                                             os.cpu_count(), info["load_start"]))
    rows, extra = [], []

    if args.moshi_src:
        with open(os.path.join(REPO, "presets", "mimi-v0.1.json")) as f:
            mcfg = json.load(f)
        log("reference Mimi v0.1 (moshi MimiModel, random weights) ...")
        model = build_ref_mimi(torch, os.path.abspath(args.moshi_src), mcfg)
        ref = bench_ref_mimi(torch, model, args.frames, 3, args.offline_seconds)
        del model
        fm = ref["frame_ms"]
        ours_frames = max(args.frames, int(round(args.offline_seconds * 1e3 / fm)))
        for dt in dtypes:
            o = run_json([cli, "bench", "mimi", "--json", "--threads", "1", "--dtype", dt,
                          "--config", os.path.join(REPO, "presets", "mimi-v0.1.json"),
                          "--frames", str(ours_frames)], env)
            rows += [
                dict(model="mimi v0.1", mode="stream encode", dtype=dt, frame_ms=fm,
                     ref=ref["enc_ms"], ours=o["enc_ms_per_frame"],
                     ref_cpu=ref["enc_cpu_ms"], ours_cpu=o.get("enc_cpu_ms_per_frame")),
                dict(model="mimi v0.1", mode="stream decode", dtype=dt, frame_ms=fm,
                     ref=ref["dec_ms"], ours=o["dec_ms_per_frame"],
                     ref_cpu=ref["dec_cpu_ms"], ours_cpu=o.get("dec_cpu_ms_per_frame")),
                dict(model="mimi v0.1", mode="stream enc+dec", dtype=dt, frame_ms=fm,
                     ref=ref["enc_ms"] + ref["dec_ms"], ours=o["both_ms_per_frame"],
                     ref_cpu=ref["enc_cpu_ms"] + ref["dec_cpu_ms"],
                     ours_cpu=o.get("both_cpu_ms_per_frame")),
                dict(model="mimi v0.1", mode="offline enc+dec", dtype=dt, frame_ms=fm,
                     ref=ref["off_rtf"] * fm, ours=o["offline_rtf"] * fm,
                     ref_cpu=ref["off_cpu_rtf"] * fm, ours_cpu=None),
            ]
            if "roofline_ms_per_frame" in o:
                extra.append("mimi %s: one-core roofline %.2f ms/frame (RTF %.3f) at %.1f GB/s and "
                             "%.1f GMAC/s; ours / roofline %.2f" %
                             (dt, o["roofline_ms_per_frame"], o["roofline_rtf"],
                              o["read_gb_per_s"], o["peak_gmac_per_s"],
                              o["both_ms_per_frame"] / o["roofline_ms_per_frame"]))
        extra.append("mimi: reference streamed %d frames after 3 warm-up, offline %.1f s; "
                     "ours streamed %d frames, offline %.1f s" %
                     (args.frames, args.offline_seconds, ours_frames, ours_frames * fm / 1e3))

    if args.denoiser_src:
        src = os.path.abspath(args.denoiser_src)
        if not os.path.isfile(os.path.join(src, "denoiser", "demucs.py")):
            sys.exit("bench_reference: %s has no denoiser/demucs.py "
                     "(--denoiser-src is the folder that holds the denoiser package)" % src)
        sys.path.insert(0, src)
        from denoiser.demucs import Demucs, DemucsStreamer
        sys.path.insert(0, os.path.join(REPO, "tools"))
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        from demucs_convert import write_safetensors
        speech, rate = read_speech(args.speech, np)
        n_off = int(args.offline_seconds * rate)
        speech = loop_to(np, speech, max(n_off, len(speech)))
        bench_demucs = demucs_cli_cmd(args.build)
        tmpdir = tempfile.TemporaryDirectory(prefix="wt-benchref-")  # removed at exit
        tmp = tmpdir.name
        in_wav = os.path.join(tmp, "speech.wav")
        write_wav16(in_wav, speech[:n_off], rate, np)
        speech_q = read_wav_float(in_wav, np)  # what our CLI will read
        for name in ("dns48", "dns64"):
            cfg_path = os.path.join(REPO, "presets", "demucs-%s.json" % name)
            with open(cfg_path) as f:
                dcfg = json.load(f)
            if dcfg["sample_rate"] != rate:
                sys.exit("bench_reference: speech is %d Hz, %s wants %d" % (rate, name, dcfg["sample_rate"]))
            log("reference Demucs %s (DemucsStreamer, random weights) ..." % name)
            speech_all = np.concatenate([speech_q, speech[n_off:]])
            model, ref, ref_out = bench_ref_demucs(torch, np, Demucs, DemucsStreamer, dcfg, speech_all,
                                                   args.demucs_frames, 5, args.offline_seconds)
            fm = ref["stride_ms"]
            # ours, offline, on the same random weights and speech (CLI run:
            # includes process start, weight loading and WAV I/O)
            wpath = os.path.join(tmp, name + ".safetensors")
            write_safetensors(wpath, {k: v.detach().float() for k, v in model.state_dict().items()},
                              {"config": json.dumps(dcfg), "format": "demucs-denoiser"})
            out_wav = os.path.join(tmp, name + "-out.wav")
            cmd = [cli, "denoise", in_wav, "-o", out_wav, "--weights", wpath, "--config", cfg_path,
                   "--float"]
            log("  $ " + " ".join(cmd))
            r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            ours_off = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            ours_off_cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
            if p.returncode != 0:
                sys.exit("bench_reference: wavetensor denoise failed: %s" % p.stderr.strip())
            ours_out = read_wav_float(out_wav, np)
            m = min(len(ours_out), len(ref_out))
            diff = float(np.max(np.abs(ours_out[:m] - ref_out[:m])))
            peak = float(np.max(np.abs(ref_out[:m])))
            extra.append("demucs %s: offline outputs (same random weights, same speech) differ by "
                         "max |d| = %.2e over %d samples (reference peak %.2e)" % (name, diff, m, peak))
            for dt in dtypes:
                o = run_json(bench_demucs + ["--json", "--threads", "1", "--dtype", dt,
                                             "--config", cfg_path, "--frames-per-step", "1"], env)
                rows.append(dict(model="demucs " + name, mode="stream (1 frame/step)", dtype=dt,
                                 frame_ms=fm, ref=ref["ms"], ours=o["ms_per_frame"],
                                 ref_cpu=ref["cpu_ms"], ours_cpu=o.get("cpu_ms_per_frame")))
            rows.append(dict(model="demucs " + name, mode="offline (CLI, incl. load)", dtype="f32",
                             frame_ms=fm, ref=ref["off_rtf"] * fm,
                             ours=ours_off / args.offline_seconds * fm,
                             ref_cpu=ref["off_cpu_rtf"] * fm,
                             ours_cpu=ours_off_cpu / args.offline_seconds * fm))
            extra.append("demucs %s: reference streamed %d frames of %.0f ms (p50 %.2f ms) after 5 "
                         "warm-up; algorithmic latency %.1f ms" %
                         (name, args.demucs_frames, fm, ref["p50"], ref["latency_ms"]))
            del model

    info["load_end"] = load_str()
    print("# wavetensor vs reference PyTorch (torch %s, 1 thread), %s" % (info["torch"], info["cpu"]))
    print("# load average (1/5/15 min): start %s, end %s, %d CPUs"
          % (info["load_start"], info["load_end"], info["ncpu"]))
    print_table(rows)
    for e in extra:
        print("# " + e)
    print("# ref/ours > 1: ours is faster. ms/frame: wall time per 80 ms frame (Mimi), per 16 ms "
          "stride (Demucs), RTF in parentheses; offline rows are RTF x frame length. CPU ms: "
          "process CPU time per frame (less sensitive to other load on a shared machine).")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(dict(info=info, rows=rows, notes=extra), f, indent=1)


if __name__ == "__main__":
    main()
