# The affinity CLI (`affinity precompute`, `affinity worker`, …) on a slim Node image, with the
# native addon (C++, built here with cmake-js) and the WASM module.
#
#   docker build -t affinity:0.1.0 .
#   docker run --rm -v "$PWD/data:/data" affinity:0.1.0 precompute --model-file /data/model.affm \
#     --shards 8 --shard 3 --out /data/recs
#
# Kubernetes: deploy/k8s/precompute-job.yaml runs this image as an Indexed Job (the shard index
# comes from JOB_COMPLETION_INDEX, the shard count from AFFINITY_SHARDS).

# ---- build: compilers for the addon; `npm ci` runs the package's install script, which builds
# the TypeScript, the WASM module and the native addon (an addon that fails to build only warns
# there, so the `test -f` below fails the image instead of shipping it without the addon)
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make cmake python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json CMakeLists.txt ./
COPY scripts ./scripts
COPY native ./native
COPY assembly ./assembly
COPY src ./src
COPY bench ./bench
# no CUDA toolkit in this image: the CUDA module is not built (the CPU backends are)
ENV AFFINITY_CUDA=0
RUN npm ci --no-audit --no-fund \
 && test -f build/Release/affinity_native.node \
 && test -f build/wasm/affinity.wasm \
 && npm prune --omit=dev --no-audit --no-fund

# ---- run: the built package without compilers or dev dependencies
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/bench ./dist/bench
COPY --from=build /app/build/Release/affinity_native.node ./build/Release/
COPY --from=build /app/build/wasm ./build/wasm
USER node
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
