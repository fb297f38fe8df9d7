#!/usr/bin/env bash
# Interleaved comparison of roofaudit's cpu.bandwidth with likwid-bench on this machine.
# Shared machines drift between minutes, so each round measures both tools back to back.
# Usage: docs/compare-likwid.sh [ROUNDS] [ROOFAUDIT_BINARY]   full sweeps vs likwid
#        docs/compare-likwid.sh points [ROUNDS] [BINARY]     one size at a time, seconds apart
#        docs/compare-likwid.sh peak [ROUNDS] [BINARY]       cpu.peak fp32/fp64 vs peakflops
#        docs/compare-likwid.sh gemm [ROUNDS] [BINARY]       cpu.gemm vs NumPy's sgemm (same
#            OpenBLAS, independent harness; needs python3-numpy) and own bf16/int8 vs cpu.peak
set -euo pipefail
mode=sweep
case "${1:-}" in points|peak|gemm) mode=$1; shift ;; esac
rounds=${1:-3}
bin=${2:-build/release/roofaudit}
threads=$(nproc)
db=$(mktemp -d)/compare.db

likwid() {  # kernel, working set -> GB/s
  likwid-bench -t "$1" -w "S0:$2:$threads" 2>/dev/null | awk '/MByte\/s/ {printf "%.1f", $2 / 1000}'
}
likwid_flops() {  # kernel -> GFLOP/s on an L1-resident working set
  likwid-bench -t "$1" -w "S0:24kB:$threads" 2>/dev/null | awk '/MFlops\/s/ {printf "%.1f", $2 / 1000}'
}
plateau() {  # run id, variant, level -> GB/s of the stored plateau fit
  sqlite3 "$db" "select round(json_extract(p.value, '$.value') / 1e9, 1) from fits f, json_each(f.result) p
                 where f.run_id = $1 and f.variant = '$2' and json_extract(p.value, '$.level') = '$3'"
}
point() {  # run id, variant, working set -> GB/s of the point nearest that size
  sqlite3 "$db" "select round(best / 1e9, 1) from measurements where run_id = $1 and variant = '$2'
                 order by abs(json_extract(params, '$.working_set_bytes') - $3) limit 1"
}

numpy_sgemm() {  # core type, n -> GFLOP/s, best of 4 on all threads
  OPENBLAS_CORETYPE=$1 /usr/bin/python3 -c "
import numpy as np, time
n = $2
a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(4))
print(round(2 * n ** 3 / best / 1e9, 1))"
}

if [ "$mode" = gemm ]; then
  printf "%-5s | %-40s | %-26s | %-26s\n" round "fp32: NumPy SkylakeX / ours (n, core)" "bf16: own GEMM / peak" "int8: own GEMM / peak"
  for r in $(seq 1 "$rounds"); do
    "$bin" --db "$db" run --probes cpu.peak,cpu.gemm > /dev/null
    id=$(sqlite3 "$db" "select max(id) from runs")
    best() {  # probe, variant -> best all-thread figure, in units of 1e9
      sqlite3 "$db" "select round(max(best) / 1e9, 1) from measurements where run_id = $id and probe = '$1'
                     and variant = '$2' and json_extract(params, '$.threads') = $threads"; }
    # cpu.gemm's fp32 figure (the best core type) and its size; the reference at that size
    read -r fp32 n core < <(sqlite3 -separator ' ' "$db" "select round(best / 1e9, 1), json_extract(params, '$.n'),
      json_extract(params, '$.corename') from measurements where run_id = $id and probe = 'cpu.gemm'
      and variant = 'fp32' and json_extract(params, '$.threads') = $threads order by best desc limit 1")
    ref=$(numpy_sgemm SkylakeX "$n")
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
    bf=$(best cpu.gemm bf16); bfp=$(best cpu.peak bf16); i8=$(best cpu.gemm int8); i8p=$(best cpu.peak int8)
    printf "%-5s | %-40s | %-26s | %-26s\n" "$r" "$ref / $fp32 ($(ratio "$fp32" "$ref"), $n, $core)" \
      "$bf / $bfp ($(ratio "$bf" "$bfp"))" "$i8 / $i8p ($(ratio "$i8" "$i8p"))"
  done
  exit 0
fi

if [ "$mode" = peak ]; then
  printf "%-5s | %-30s | %-30s\n" round "fp32 all threads: likwid/ours" "fp64 all threads: likwid/ours"
  for r in $(seq 1 "$rounds"); do
    sp=$(likwid_flops peakflops_sp_avx512_fma); dp=$(likwid_flops peakflops_avx512_fma)
    "$bin" --db "$db" run --probes cpu.peak > /dev/null
    id=$(sqlite3 "$db" "select max(id) from runs")
    ours() { sqlite3 "$db" "select round(best / 1e9, 1) from measurements where run_id = $id and variant = '$1'
                             and json_extract(params, '$.threads') = $threads"; }
    printf "%-5s | %-30s | %-30s\n" "$r" "$sp / $(ours fp32)" "$dp / $(ours fp64)"
  done
  exit 0
fi

if [ "$mode" = points ]; then
  printf "%-5s | %-22s | %-22s | %-22s | %-22s\n" round "2GB load: likwid/ours" "2GB copy: likwid/ours" \
    "24kB load: likwid/ours" "512kB load: likwid/ours"
  for r in $(seq 1 "$rounds"); do
    row=()
    for spec in "load_avx512 2GB read" "copy_avx512 2GB copy" "load_avx512 24kB read" "load_avx512 512kB read"; do
      set -- $spec
      l=$(likwid "$1" "$2")
      "$bin" --db "$db" run --probes cpu.bandwidth --min-size "$2" --max-size "$2" > /dev/null
      id=$(sqlite3 "$db" "select max(id) from runs")
      row+=("$l / $(sqlite3 "$db" "select round(best / 1e9, 1) from measurements where run_id = $id and variant = '$3'")")
    done
    printf "%-5s | %-22s | %-22s | %-22s | %-22s\n" "$r" "${row[@]}"
  done
  exit 0
fi

printf "%-5s | %-28s | %-28s | %-28s | %-28s\n" round "DRAM read: likwid / ours" "DRAM copy: likwid / ours" \
  "24 kB read: likwid / L1 / pt" "512 kB read: likwid / L2 / pt"
for r in $(seq 1 "$rounds"); do
  l_dram=$(likwid load_avx512 2GB); l_copy=$(likwid copy_avx512 2GB)
  l_l1=$(likwid load_avx512 24kB); l_l2=$(likwid load_avx512 512kB)
  "$bin" --db "$db" run --probes cpu.bandwidth > /dev/null
  id=$(sqlite3 "$db" "select max(id) from runs")
  printf "%-5s | %-28s | %-28s | %-28s | %-28s\n" "$r" \
    "$l_dram / $(plateau "$id" read DRAM)" "$l_copy / $(plateau "$id" copy DRAM)" \
    "$l_l1 / $(plateau "$id" read L1) / $(point "$id" read 24000)" \
    "$l_l2 / $(plateau "$id" read L2) / $(point "$id" read 512000)"
done
