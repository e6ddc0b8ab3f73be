# syntax=docker/dockerfile:1
#
# sg-reconciler container image.
#
#   docker build -t sg-reconciler .
#   docker run --read-only -v "$PWD/policies:/policies:ro" -p 9464:9464 \
#     -e AWS_REGION=us-east-1 sg-reconciler            # `run`, the daemon, is the default command
#   docker run --rm --read-only -v "$PWD/policies:/policies:ro" sg-reconciler validate
#
# Behind a TLS-intercepting proxy or with a private CA, pass the CA bundle at build time only
# (nothing of it ends up in the final image):
#   docker build --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
#     -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro ...   # (podman/buildah)
# HTTP(S)_PROXY / NO_PROXY are Docker's predefined build args; NPM_CONFIG_REGISTRY selects a mirror.
# See deploy/README.md.

# ---------------------------------------------------------------------------------------------
# Stage 1: full dependency tree, compile TypeScript to dist/.
FROM node:24-bookworm-slim AS build
# Build-time only; none of these is carried into the final stage.
ARG NODE_EXTRA_CA_CERTS
ARG NPM_CONFIG_REGISTRY
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
# Lockfile first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --loglevel=warn
COPY tsconfig*.json ./
COPY src/ src/
COPY schemas/ schemas/
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Stage 2: production dependencies only (no dev tooling, no lifecycle scripts, no npm cache).
FROM node:24-bookworm-slim AS prod-deps
ARG NODE_EXTRA_CA_CERTS
ARG NPM_CONFIG_REGISTRY
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --loglevel=warn \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------
# Stage 3: runtime. Owned by root, run as `node` (uid/gid 1000): the process can write nothing,
# which is also why the image runs unchanged with a read-only root file system. npm is never
# invoked at runtime; the entrypoint is plain `node`.
FROM node:24-bookworm-slim

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="sg-reconciler" \
      org.opencontainers.image.description="Declarative, additive reconciliation of AWS EC2 security-group ingress rules from YAML policies kept in git." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"

ENV NODE_ENV=production \
    SGR_POLICIES=/policies \
    SGR_LISTEN=0.0.0.0:9464

WORKDIR /app
COPY --from=prod-deps /app/node_modules/ ./node_modules/
COPY --from=build /app/dist/ ./dist/
# package.json is needed at runtime: it declares "type": "module" for dist/.
COPY package.json ./
COPY schemas/ ./schemas/

USER node
EXPOSE 9464

# Liveness of the HTTP endpoint, with Node itself (there is no curl in the image). It follows
# SGR_LISTEN (host and port; a wildcard host is probed on 127.0.0.1). If you move the listener
# with the --listen flag instead of SGR_LISTEN, set SGR_LISTEN too or override the healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const m=/^(?:(?:\\[([^\\]]*)\\]|([^:]*)):)?(\\d+)$/.exec(process.env.SGR_LISTEN||'');let h=m?(m[1]??m[2]):'';if(!h||h==='0.0.0.0'||h==='::')h='127.0.0.1';if(h.includes(':'))h='['+h+']';fetch('http://'+h+':'+(m?m[3]:'9464')+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["run"]
