# syntax=docker/dockerfile:1
# authctx image: build with the dev toolchain, ship the compiled dist/ with production
# dependencies only, run as a non-root numeric user. No HEALTHCHECK: Kubernetes probes
# /livez and /readyz on the admin port (see helm/authctx).

ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile TypeScript (needs devDependencies).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Production dependencies only, installed on their own so the layer caches.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 3. Runtime.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY migrations ./migrations
COPY config ./config
# uid/gid 1000 is the image's "node" user. Numeric, so that Kubernetes' runAsNonRoot can
# verify it without reading /etc/passwd. The files above stay root-owned: read-only to authctx.
USER 1000:1000
# Proxy (AUTHCTX_LISTEN) and admin: /metrics, /livez, /readyz (AUTHCTX_ADMIN_LISTEN).
EXPOSE 8080 9090
# node as PID 1 gets SIGTERM directly: readiness turns 503 and in-flight requests finish.
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["start"]
