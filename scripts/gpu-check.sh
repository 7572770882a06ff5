#!/usr/bin/env bash
# The CUDA module's checks on a machine with an NVIDIA GPU (issue 18): one short run that
#   1. builds the CUDA module (affinity_cuda.node), the CPU addon and the CUDA ctests in build/gpu,
#      for the present GPU's architecture only (nvidia-smi's compute capability);
#   2. runs the CUDA ctests (ctest -R '^cuda\.');
#   3. runs the JS conformance tests of the cuda backend against the TS reference
#      (kernels.nn.conformance, kernels.gemm, cuda.kernels, cuda.nn) with the given node;
#   4. times the quick gemm cases on every backend and the quick train step on cuda and native.
# Every result goes under $OUT (default ./gpu-check-out): summary.txt (one PASS/FAIL/SKIP line a
# step), and the logs, the probe and the bench JSON/markdown.
#
# Needs: nvcc, cmake ≥ 3.18 and a C++17 compiler, python3 (reads package.json); for steps 3–4 a
# node binary ($NODE, default `node`; a file ending in .xz is decompressed first) and the built tree
# beside the sources: dist/ (npm run build:ts) and node_modules/ (node-api-headers, node-addon-api
# and uvu for the build and the tests; the runtime dependencies for the bench). No network and no
# npm are used. Without node or its pieces, steps 3–4 are reported as SKIP with the reason.
# scripts/gpu-check-bundle.sh packs node and the needed node_modules into build/gpu-carry/ on a
# development machine: carry `dist` and `build/gpu-carry` to the GPU machine.
#
# Steps 3–4 install the built affinity_cuda.node and affinity_native.node into build/Release
# (where the TS loader looks), replacing any there.
#
# A step that skips on a GPU is a failure here: with a device present, a ctest that exits 77 or a
# JS test that prints `SKIP … on cuda` means the GPU path did not run. Exit status: 0 when every
# step passed, 1 otherwise.
#
#   OUT=/tmp/out NODE=/path/to/node scripts/gpu-check.sh
#   GPU_CHECK_JOBS=16   parallel compile jobs (default: the CPU count)
#   GPU_CHECK_ARCH=90   CUDA architecture(s) to build for (default: the GPU's, else 80;90)
#   GPU_CHECK_BENCH=0   leave out step 4
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
OUT="${OUT:-$root/gpu-check-out}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
failed=0
start=$(date +%s)

note() { echo "$*" | tee -a "$summary"; }
pass() { note "PASS $1 ($(( $(date +%s) - start )) s)"; }
fail() { note "FAIL $1: $2 ($(( $(date +%s) - start )) s)"; failed=1; }
skip() { note "SKIP $1: $2"; }

# --- the machine
{
  date -u
  uname -a
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
  command -v nvcc >/dev/null && nvcc --version
  cmake --version | head -1
} > "$OUT/machine.txt" 2>&1
note "gpu-check: $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader | head -1 || echo 'nvidia-smi not found')"

jobs="${GPU_CHECK_JOBS:-$(nproc 2>/dev/null || echo 4)}"
arch="${GPU_CHECK_ARCH:-}"
if [ -z "$arch" ] && command -v nvidia-smi >/dev/null; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
fi
arch="${arch:-80;90}"

version=$(python3 -c 'import json; print(json.load(open("package.json"))["version"])' 2>/dev/null || echo "")

# --- node (optional: the JS steps skip without it); scripts/gpu-check-bundle.sh's pack is used
# where node_modules/ is missing and NODE is not set
carry=build/gpu-carry
if [ ! -d node_modules ] && [ -f "$carry/node_modules.tar.gz" ]; then
  tar -xzf "$carry/node_modules.tar.gz" && note "node_modules unpacked from $carry/node_modules.tar.gz"
fi
if [ ! -d build/wasm ] && [ -d "$carry/wasm" ]; then mkdir -p build && cp -r "$carry/wasm" build/wasm; fi
if [ -z "${NODE:-}" ] && ! command -v node >/dev/null && [ -f "$carry/node.xz" ]; then NODE="$carry/node.xz"; fi
node_bin="${NODE:-node}"
node_why=""
case "$node_bin" in
  *.xz)
    unpacked="${TMPDIR:-/tmp}/gpu-check-node"
    if xz -dc "$node_bin" > "$unpacked" 2>/dev/null && chmod +x "$unpacked"; then node_bin="$unpacked"; else node_why="cannot decompress $node_bin"; fi ;;
esac
if [ -z "$node_why" ] && ! "$node_bin" --version >/dev/null 2>&1; then node_why="no node binary ($node_bin); set NODE=/path/to/node"; fi
[ -z "$node_why" ] && [ ! -d dist/test ] && node_why="dist/ is missing (copy the tree built by npm run build:ts)"
[ -z "$node_why" ] && [ ! -f node_modules/uvu/bin.js ] && node_why="node_modules/uvu is missing (copy node_modules)"

# Node-API headers for the addons: node-api-headers (a cmake-js dependency) or the node's own
addon=ON
node_inc=""
for d in "${NODE_INCLUDE:-}" node_modules/node-api-headers/include "$(dirname "$(command -v "$node_bin" 2>/dev/null || echo /x/x)")/../include/node"; do
  if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then node_inc=$(cd "$d" && pwd); break; fi
done
if [ -z "$node_inc" ] || [ ! -f node_modules/node-addon-api/napi.h ] || [ -z "$version" ]; then
  addon=OFF
  [ -z "$node_why" ] && node_why="cannot build the addons (Node-API headers, node-addon-api or package.json's version missing)"
fi

# --- 1. build
build=build/gpu
targets="test_cuda_core test_cuda_kernels test_cuda_gemm test_cuda_nn"
[ "$addon" = ON ] && targets="$targets affinity_cuda affinity_native"
if cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAFFINITY_CUDA=ON -DAFFINITY_BUILD_TESTS=ON -DAFFINITY_SANITIZE=OFF \
     -DAFFINITY_BUILD_ADDON="$addon" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
     ${node_inc:+-DCMAKE_JS_INC="$node_inc"} -DNODE_ADDON_API_DIR="$root/node_modules/node-addon-api" \
     ${version:+-DAFFINITY_VERSION="$version"} > "$OUT/configure.log" 2>&1; then
  grep -E 'affinity:' "$OUT/configure.log" | tee -a "$summary"
  # shellcheck disable=SC2086 # targets is a list
  if cmake --build "$build" -j "$jobs" --target $targets > "$OUT/build.log" 2>&1; then
    pass "build ($targets; CUDA architectures $arch)"
  else
    fail build "see build.log: $(grep -m1 -iE 'error' "$OUT/build.log")"
  fi
else
  fail configure "see configure.log: $(grep -m1 -iE 'error' "$OUT/configure.log")"
fi

# --- 2. ctest
if [ -x "$build/test_cuda_nn" ]; then
  ctest --test-dir "$build" -R '^cuda\.' --output-on-failure > "$OUT/ctest.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then fail ctest "exit $rc, see ctest.log"
  elif grep -q -- '(Skipped)' "$OUT/ctest.log"; then
    fail ctest "skipped, so the GPU path did not run: $(grep -- '(Skipped)' "$OUT/ctest.log" | sed 's/^[[:space:]]*[0-9]* - //' | tr '\n' ' ')(why: $(grep -m1 -o 'SKIP[^"]*' "$build/Testing/Temporary/LastTest.log"))"
  else pass "ctest: $(grep -m1 'tests passed' "$OUT/ctest.log")"
  fi
else
  fail ctest "not built"
fi

# --- 3. the JS conformance tests on the cuda backend
if [ -n "$node_why" ]; then
  skip "js tests and bench" "$node_why"
else
  mkdir -p build/Release
  for m in affinity_cuda affinity_native; do
    [ -f "$build/$m.node" ] && cp "$build/$m.node" build/Release/
  done
  "$node_bin" --input-type=module -e "
    const { cudaBackend } = await import('./dist/src/backends/native/cuda.js');
    console.log(JSON.stringify(await cudaBackend.probe(), null, 2));" > "$OUT/probe.json" 2>&1
  note "cuda probe: $(grep -m1 '"reason"' "$OUT/probe.json")"
  timeout 300 "$node_bin" node_modules/uvu/bin.js dist/test '^(kernels\.nn\.conformance|kernels\.gemm|cuda\.kernels|cuda\.nn)\.test\.js$' > "$OUT/js-tests.log" 2>&1
  rc=$?
  total=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/js-tests.log" | grep -E 'Total|Passed|Skipped' | tr '\n' ' ')
  if [ $rc -ne 0 ]; then fail "js tests" "exit $rc ($total), see js-tests.log"
  elif grep -q -E 'SKIP .*cuda' "$OUT/js-tests.log"; then fail "js tests" "cuda skipped, so the GPU path did not run: $(grep -m1 -E 'SKIP .*cuda' "$OUT/js-tests.log")"
  else pass "js tests: $total"
  fi

  # --- 4. bench: gemm on every backend (quick sizes), the train step on cuda and on native
  cli=dist/src/cli/main.js
  if [ "${GPU_CHECK_BENCH:-1}" = 0 ]; then
    skip bench "GPU_CHECK_BENCH=0"
  elif timeout 240 "$node_bin" "$cli" bench --suite quick --kernel gemm --repeats 3 --out "$OUT/bench-gemm" > "$OUT/bench-gemm.log" 2>&1; then
    if grep -qE '^gemm +cuda ' "$OUT/bench-gemm.log"; then pass "bench gemm (bench-gemm/quick.md)"
    else fail "bench gemm" "no gemm record on cuda (see bench-gemm.log, probe.json)"
    fi
  else
    fail "bench gemm" "see bench-gemm.log"
  fi
  for b in cuda native; do
    [ "${GPU_CHECK_BENCH:-1}" = 0 ] && break
    if timeout 180 "$node_bin" "$cli" bench --backend "$b" --suite quick --kernel train:transformer-step --repeats 3 --out "$OUT/bench-train-$b" \
         > "$OUT/bench-train-$b.log" 2>&1; then
      if grep -q "gemm→$b" "$OUT/bench-train-$b.log"; then
        pass "bench train step on $b: $(grep -m1 'train:' "$OUT/bench-train-$b.log")"
      else
        fail "bench train step on $b" "the engine did not run its gemm on $b: $(grep -m1 'train:' "$OUT/bench-train-$b.log")"
      fi
    else
      fail "bench train step on $b" "see bench-train-$b.log"
    fi
  done
fi

note "gpu-check: $([ $failed = 0 ] && echo 'all steps passed' || echo 'FAILED') in $(( $(date +%s) - start )) s; results in $OUT"
exit $failed
