# audit-proxy as a sidecar: configured entirely by environment (see docs/configuration.md).
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-slim AS build
# A C toolchain: npm ci rebuilds lmdb-js with the fix of its open bug (scripts/lmdb-open-fix.mjs, docs/security.md).
RUN apt-get update && apt-get install -y --no-install-recommends make g++ python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY bench ./bench
COPY viewer ./viewer
RUN npm run build

# Runtime stage: production dependencies and the compiled output only.
FROM node:22-slim
ENV NODE_ENV=production \
    AUDIT_PROXY_HOST=0.0.0.0 \
    AUDIT_PROXY_PORT=8080 \
    AUDIT_PROXY_DATA_DIR=/data \
    AUDIT_PROXY_LMDB_FIX=skip
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# lmdb-js as the build stage rebuilt it with the fix (this stage has no C toolchain, so its install skipped that).
COPY --from=build /app/node_modules/lmdb/build ./node_modules/lmdb/build
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/viewer ./dist/viewer
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.AUDIT_PROXY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
