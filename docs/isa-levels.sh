#!/usr/bin/env bash
# One table per ISA class on this machine, each class forced with ROOFAUDIT_MAX_ISA (the
# classes this CPU cannot run are left out): cpu.decode's B = 1 weight stream against the
# run's DRAM read, B = 512 (or the largest batch measured) against the run's peak of that
# precision, the own int8/bf16 GEMM against oneDNN's, and model.decode tokens/s at
# B = 1, 4 and 16 (context 256). Every figure comes from one run per class.
# Usage: docs/isa-levels.sh [ROOFAUDIT_BINARY] [CLASSES...]
set -euo pipefail
bin=${1:-build/release/roofaudit}
shift || true
classes=("$@")
[ ${#classes[@]} -eq 0 ] && classes=(amx avx512-bf16 avx512-vnni avx512 avx-vnni avx2 generic)
dir=$(mktemp -d)
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|f16c|avx_vnni|avx512f|avx512bw|avx512_vnni|avx512_bf16|amx_int8|amx_bf16)$' | tr '\n' ' ')"
for c in "${classes[@]}"; do
  db=$dir/$c.db
  if ! ROOFAUDIT_MAX_ISA=$c "$bin" --db "$db" run --quick --probes cpu.bandwidth,cpu.peak,cpu.gemm,cpu.decode >/dev/null 2>"$dir/$c.err"; then
    echo "## $c: $(tail -1 "$dir/$c.err")"; continue
  fi
  ROOFAUDIT_MAX_ISA=$c "$bin" --db "$db" run --probes model.decode --repetitions 2 >/dev/null 2>&1 || true
  echo
  echo "## ROOFAUDIT_MAX_ISA=$c"
  "$bin" --db "$db" show 1 --json > "$dir/$c.quick.json"
  "$bin" --db "$db" show 2 --json > "$dir/$c.model.json" 2>/dev/null || echo '{}' > "$dir/$c.model.json"
  python3 - "$dir/$c.quick.json" "$dir/$c.model.json" <<'PY'
import json, sys
q = json.load(open(sys.argv[1])); md = json.load(open(sys.argv[2]))
ms = [m for m in q["measurements"] if m["valid"] and m.get("summary")]
best = lambda f: max((m["summary"]["best"] for m in ms if f(m)), default=0)
dram = [f for f in q.get("fits", []) if f["probe"] == "cpu.bandwidth" and f["variant"] == "read" and f["kind"] == "plateaus"]
dram_bw = dram[0]["result"][-1]["value"] if dram else 0
threads = max(m["params"].get("threads", 1) for m in ms)
print("| | int8 | bf16 |\n| --- | --- | --- |")
rows = {}
for v in ("int8", "bf16"):
    peak = [m for m in ms if m["probe"] == "cpu.peak" and m["variant"] == v and m["params"]["threads"] == threads]
    dec = [m for m in ms if m["probe"] == "cpu.decode" and m["variant"] == v]
    kern = dec[0]["params"]["kernel"] if dec else "-"
    b1 = best(lambda m: m["probe"] == "cpu.decode" and m["variant"] == v and m["metric"] == "weight_bandwidth" and m["params"]["batch"] == 1)
    bmax = max((m["params"]["batch"] for m in dec), default=0)
    top = best(lambda m: m["probe"] == "cpu.decode" and m["variant"] == v and m["metric"] == "throughput" and m["params"]["batch"] == bmax)
    pk = peak[0]["summary"]["best"] if peak else 0
    own = best(lambda m: m["probe"] == "cpu.gemm" and m["variant"] == v and m["params"].get("library") == "roofaudit")
    dn = best(lambda m: m["probe"] == "cpu.gemm" and m["variant"] == v and m["params"].get("library") == "onednn")
    dn_kernel = next((m["params"]["kernel"] for m in ms if m["probe"] == "cpu.gemm" and m["variant"] == v and m["params"].get("library") == "onednn"), "unsupported")
    rows[v] = dict(kern=kern, b1=f"{b1/1e9:.1f} GB/s = {b1/dram_bw:.2f} of DRAM read {dram_bw/1e9:.1f}" if dram_bw else "-",
                   top=f"B={bmax}: {top/1e9:.0f} G/s = {top/pk:.2f} of peak {pk/1e9:.0f} ({peak[0]['params']['instruction']})" if pk else "-",
                   gemm=f"{own/1e9:.0f} vs {dn/1e9:.0f} G/s ({dn_kernel}): own/oneDNN {own/dn:.2f}" if dn else f"{own/1e9:.0f} G/s; oneDNN: unsupported",
                   own_gemm_of_peak=f"{own/pk:.2f}" if pk else "-")
for key, label in (("kern", "decode kernel"), ("b1", "cpu.decode B=1 weights"), ("top", "cpu.decode largest B"),
                   ("gemm", "GEMM own vs oneDNN (best size, all threads)"), ("own_gemm_of_peak", "own GEMM / peak")):
    print(f"| {label} | {rows['int8'][key]} | {rows['bf16'][key]} |")
tok = {}
for m in md.get("measurements", []):
    if m["probe"] == "model.decode" and m["valid"] and m["params"]["context"] == 256:
        tok.setdefault(m["variant"], {})[m["params"]["batch"]] = m["summary"]["median"]
for v in ("int8", "bf16"):
    t = tok.get(v, {})
    print(f"| model.decode llama3.2-1b {v}, context 256, tokens/s at B=1/4/16 | " +
          " / ".join(f"{t[b]:.1f}" if b in t else "-" for b in (1, 4, 16)) + " | |")
PY
done
