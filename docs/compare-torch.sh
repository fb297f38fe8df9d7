#!/usr/bin/env bash
# The GPU probes against PyTorch's CUDA references, measured in one sitting on one GPU:
# gpu.bandwidth copy vs torch's device-to-device copy (read + write bytes, as roofaudit
# counts copy), the matrix-unit fp16 GEMM vs torch's bf16 matmul, gpu.gemm fp32 vs torch's
# fp32 matmul, gpu.transfer h2d vs torch's pinned host-to-device copy.
# Usage: docs/compare-torch.sh [ROOFAUDIT_BINARY] [DEVICE_SELECTOR]
# Needs python3 with torch and a CUDA device; prints one line per comparison.
set -euo pipefail
bin=${1:-build/release/roofaudit}
device=${2:-}
db=$(mktemp -d)/compare.db
python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null ||
  { echo "compare-torch: python3 with a CUDA-enabled torch is required" >&2; exit 2; }
"$bin" --db "$db" run --probes gpu. ${device:+--device "$device"} > "$db.txt"
python3 - "$db" <<'PY'
import sqlite3, sys, time
import torch

def best(db, probe, variant, where=""):
    row = sqlite3.connect(db).execute(
        f"select max(best) from measurements where probe = ? and variant = ? and valid = 1 {where}",
        (probe, variant)).fetchone()
    return row[0]

def timed(fn, reps=10):
    fn(); torch.cuda.synchronize()
    best_s = float("inf")
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True); end = torch.cuda.Event(enable_timing=True)
        start.record(); fn(); end.record(); torch.cuda.synchronize()
        best_s = min(best_s, start.elapsed_time(end) / 1e3)
    return best_s

db = sys.argv[1]
n = 1 << 28  # 1 GiB of fp32
a = torch.empty(n, device="cuda"); b = torch.empty_like(a)
copy = 2 * a.numel() * 4 / timed(lambda: b.copy_(a))
m = 8192
x16 = torch.randn(m, m, device="cuda", dtype=torch.bfloat16); y16 = torch.randn_like(x16)
x32 = torch.randn(m, m, device="cuda"); y32 = torch.randn_like(x32)
mm16 = 2 * m ** 3 / timed(lambda: x16 @ y16)
mm32 = 2 * m ** 3 / timed(lambda: x32 @ y32)
host = torch.empty(1 << 26, pin_memory=True); dev = torch.empty(1 << 26, device="cuda")
h2d = host.numel() * 4 / timed(lambda: dev.copy_(host, non_blocking=True))

def line(what, ours, ref, unit, scale):
    ratio = f"{ours / ref:.3f}" if ours else "n/a (not measured or not supported)"
    shown = f"{ours / scale:.1f}" if ours else "-"
    print(f"{what:<52} roofaudit {shown:>9} {unit}  torch {ref / scale:9.1f} {unit}  ratio {ratio}")

line("gpu.bandwidth copy / torch d2d copy", best(db, "gpu.bandwidth", "copy"), copy, "GB/s", 1e9)
line("gpu.gemm fp16_coopmat / torch bf16 matmul 8192", best(db, "gpu.gemm", "fp16_coopmat"), mm16, "TFLOP/s", 1e12)
line("gpu.gemm fp32 / torch fp32 matmul 8192", best(db, "gpu.gemm", "fp32"), mm32, "TFLOP/s", 1e12)
line("gpu.transfer h2d_copy / torch pinned h2d", best(db, "gpu.transfer", "h2d_copy"), h2d, "GB/s", 1e9)
print(f"gpu.peak fp32: {(best(db, 'gpu.peak', 'fp32') or 0) / 1e12:.1f} TFLOP/s (compare with the card's spec peak)")
PY
