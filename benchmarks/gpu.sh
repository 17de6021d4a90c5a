#!/usr/bin/env bash
# Runs the GPU side of the benchmarks on a CUDA machine whose python already has torch (no venv needed):
#   bash benchmarks/gpu.sh [zoo|match|chain|ffl|activations ...]     (default: all)
# Each script writes its own "(GPU)"/"(cuda)" section of benchmarks/RESULTS.md; results are copied to $OUT if set.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
which=("$@"); [ ${#which[@]} -eq 0 ] && which=(zoo match chain ffl)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
for b in "${which[@]}"; do
  echo "=== $b"; start=$(date +%s)
  case $b in
    zoo)   $PY benchmarks/zoo.py --device cuda ;;
    match) $PY benchmarks/match.py --device cuda ;;
    chain) $PY benchmarks/chain.py --device cuda ;;
    ffl)   $PY benchmarks/ffl.py --device cuda ;;
    activations) $PY benchmarks/activations_memory.py --device cuda ;;
    *) echo "unknown benchmark $b" ;;
  esac
  echo "=== $b done in $(( $(date +%s) - start )) s"
  [ -n "${OUT:-}" ] && cp benchmarks/RESULTS.md "$OUT/RESULTS.md"
done
