#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs, besides the sources and dist/, on a GPU machine that has
# no node and no npm registry, into build/gpu-carry/ (ignored by git):
#   node.xz               this node binary (NODE=, default the one on PATH), xz-compressed
#   node_modules.tar.gz   the runtime dependencies (npm ls --omit=dev) without gpu.js's webgpu
#                         (85 MB; the gpujs backend then skips, saying so), plus uvu and its
#                         dependencies for the tests; node-api-headers and node-addon-api, which
#                         the addon build needs, are among the runtime dependencies
#   wasm/                 build/wasm (the WASM backend's module)
# Carry `dist` and `build/gpu-carry` (about 35 MB together); gpu-check.sh unpacks them where
# node_modules/ is missing and NODE is not set. Run `npm run build:ts` first.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/gpu-carry
[ -d dist/test ] || { echo "gpu-check-bundle: dist/test is missing; run npm run build:ts first" >&2; exit 1; }
mkdir -p "$dest"

node_bin="${NODE:-$(command -v node)}"
if [ ! -f "$dest/node.xz" ] || [ "$node_bin" -nt "$dest/node.xz" ]; then
  xz -T0 -6 -c "$node_bin" > "$dest/node.xz.part" && mv "$dest/node.xz.part" "$dest/node.xz"
fi

mods=$( { npm ls --omit=dev --all --parseable 2>/dev/null || true; } | sed "s|^$PWD/||" | grep '^node_modules/' | grep -v '^node_modules/webgpu' || true)
for m in uvu dequal diff kleur sade mri; do [ -d "node_modules/$m" ] && mods="$mods"$'\n'"node_modules/$m"; done
# the WASM backend's module (npm run build:wasm), so the gemm bench compares it too
if [ -d build/wasm ]; then rm -rf "$dest/wasm" && cp -r build/wasm "$dest/wasm"; fi
# shellcheck disable=SC2086 # one path a line, none with spaces
tar -czf "$dest/node_modules.tar.gz.part" $(echo "$mods" | sort -u)
mv "$dest/node_modules.tar.gz.part" "$dest/node_modules.tar.gz"
du -sh "$dest"/* dist
echo "gpu-check-bundle: carry dist and $dest"
