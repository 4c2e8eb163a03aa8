# One image for every chainlake service; the compose file picks the app with CHAINLAKE_APP.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY e2e/package.json ./e2e/package.json
COPY tools/build-app.mjs tools/node-flags.json ./tools/
RUN npm ci --ignore-scripts \
 && for app in apps/*; do (cd "$app" && node ../../tools/build-app.mjs); done \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production CHAINLAKE_HOST=0.0.0.0
COPY --from=build /src /app
RUN mkdir -p /app/data/warehouse /app/data/spool && chown -R node:node /app/data
USER node
# Node flags: CHAINLAKE_NODE_FLAGS when set, else the app's entry in tools/node-flags.json
# (docs/architecture.md, "Garbage collection").
CMD ["sh", "-c", "exec node ${CHAINLAKE_NODE_FLAGS-$(node -p \"require('./tools/node-flags.json')[process.env.CHAINLAKE_APP] ?? ''\")} apps/${CHAINLAKE_APP:?set CHAINLAKE_APP}/dist/main.js"]
