# hybridlm serve in a container: a build stage compiles the native addon and the
# TypeScript; the runtime stage carries only the built package and runs as the
# unprivileged `node` user. Mount the model read-only at /models.
#
#   docker build -t hybridlm .
#   docker run -p 8080:8080 -v "$PWD/models:/models:ro" hybridlm /models/model.gguf
#
# See docs/SERVING.md.

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json CMakeLists.txt binding.gyp ./
COPY scripts ./scripts
# The workspace of the optional CUDA package (package.json: "workspaces"); npm ci needs its manifest.
COPY packages ./packages
COPY native ./native
COPY cuda ./cuda
COPY lib ./lib
# npm ci runs the package's install (native build) and prepare (TypeScript) scripts.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release ./build/Release
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/index.js", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD ["/models/model.gguf"]
