#!/usr/bin/env python3
"""The reference PyTorch models on a CUDA GPU, for comparison with
bench_cuda_mimi and bench_cuda_demucs run on the same machine.

Times, with random weights of the published shapes: moshi's MimiModel
(Mimi v0.1, built as tools/bench_reference.py builds it) streaming encode +
decode per 80 ms frame at batch 1, 8 and 64 through moshi's streaming API,
and facebookresearch/denoiser's DemucsStreamer (dns48, dns64; one frame per
feed), in f32. Each step is timed to a torch.cuda.synchronize(), as our
benchmarks time a step to its downloaded output. Needs a CUDA build of
PyTorch and the references' sources (see tools/bench_reference.py):

    python3 tools/bench_reference_gpu.py --moshi-src /tmp/ref/moshi/moshi \\
        --denoiser-src /tmp/ref/denoiser
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_reference as ref  # noqa: E402  (build_ref_mimi, REPO)


DEV = "cuda"


def sync(torch):
    if DEV == "cuda":
        torch.cuda.synchronize()


def timed(torch, fn, steps, warmup):
    for _ in range(warmup):
        fn()
    sync(torch)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        sync(torch)
        times.append(time.perf_counter() - t0)
    return 1e3 * sum(times) / len(times)


def bench_mimi(torch, src, batches, steps):
    with open(os.path.join(ref.REPO, "presets", "mimi-v0.1.json")) as f:
        cfg = json.load(f)
    model = ref.build_ref_mimi(torch, src, cfg).to(DEV)
    fs = model.frame_size
    for b in batches:
        pcm = 0.1 * (torch.rand(b, 1, fs, device=DEV) - 0.5)
        with torch.no_grad(), model.streaming(b):
            ms = timed(torch, lambda: model.decode(model.encode(pcm)), steps, 3)
        print("reference mimi-v0.1 f32 batch %4d  enc+dec %8.3f ms/frame  RTF %.3f  (%.3f ms per stream-frame)"
              % (b, ms, ms / 80.0, ms / b), flush=True)


def bench_demucs(torch, src, steps):
    sys.path.insert(0, src)
    from denoiser.demucs import Demucs, DemucsStreamer
    for name in ("dns48", "dns64"):
        with open(os.path.join(ref.REPO, "presets", "demucs-%s.json" % name)) as f:
            cfg = json.load(f)
        torch.manual_seed(0)
        model = Demucs(**cfg).to(DEV).eval()
        with torch.no_grad():
            st = DemucsStreamer(model, dry=0, num_frames=1)
            st.feed(torch.zeros(1, st.total_length - st.stride, device=DEV))
            x = 0.1 * (torch.rand(1, st.stride, device=DEV) - 0.5)
            ms = timed(torch, lambda: st.feed(x), steps, 10)
        sms = 1e3 * st.stride / cfg["sample_rate"]
        print("reference demucs %s f32 stream  %8.3f ms/frame  RTF %.4f" % (name, ms, ms / sms), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--moshi-src")
    ap.add_argument("--denoiser-src")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cuda", help="cuda (default), or cpu to check the script")
    args = ap.parse_args()
    global DEV
    DEV = args.device
    import torch
    if DEV == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_reference_gpu: no CUDA device for PyTorch")
    name = torch.cuda.get_device_name(0) if DEV == "cuda" else "cpu"
    print("torch %s on %s" % (torch.__version__, name), flush=True)
    if args.moshi_src:
        try:
            bench_mimi(torch, os.path.abspath(args.moshi_src), (1, 8, 64), args.steps)
        except Exception as e:  # report and go on to Demucs
            print("reference mimi failed: %r" % (e,), flush=True)
    if args.denoiser_src:
        try:
            bench_demucs(torch, os.path.abspath(args.denoiser_src), 10 * args.steps)
        except Exception as e:
            print("reference demucs failed: %r" % (e,), flush=True)


if __name__ == "__main__":
    main()
