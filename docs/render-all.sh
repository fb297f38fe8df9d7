#!/usr/bin/env bash
# Renders everything the reading verbs print from one database, one file per verb and
# format, into a directory: run it before and after a change to the renderers with the
# same database, then `diff -r BEFORE AFTER` shows every byte the change moved.
#   docs/render-all.sh ROOFAUDIT_BINARY DATABASE OUTDIR
# The database needs two complete runs of one machine (history, compare and check).
set -uo pipefail
bin=$1 db=$2 out=$3
mkdir -p "$out"
# A copy: reading verbs change nothing, but the directory of the original stays untouched
# even by SQLite's -shm file.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$db" "$work/db"
for f in "$db-wal" "$db-shm"; do [ -f "$f" ] && cp "$f" "$work/db${f#"$db"}"; done
r() {  # r NAME ARGS...: stdout to NAME.out, exit status appended
  local name=$1; shift
  "$bin" --db "$work/db" "$@" > "$out/$name.out" 2> "$out/$name.err"
  echo "exit $?" >> "$out/$name.err"
}
r runs runs
r show-1 show 1
r show-1-json show 1 --json
r show-2-json show 2 --json
for f in text markdown json csv html; do r "report-$f" report --format "$f"; r "report-run1-$f" report --run 1 --format "$f"; done
for f in text markdown json csv; do r "history-$f" history --format "$f"; r "compare-$f" compare 1 2 --format "$f"; done
for f in text markdown json; do r "check-$f" check --baseline previous --format "$f"; done
r export-gbench export 1 --format gbench-json
r predict-local predict --chip local --run 1
r predict-local-json predict --chip local --run 1 --json
r predict-h100 predict --chip h100 --model llama3-70b --weights int8 --chips min
r predict-h100-json predict --chip h100 --model llama3-70b --weights int8 --chips min --json
r predict-compare predict --model llama3-70b --compare
r predict-sweep predict --chip tpu-v5e --model llama3-70b --chips 16 --sweep batch --json
r catalog-chips catalog chips
r catalog-models catalog models
