# edgeProxy container image: the single executable (npm run build:exe) on Debian bookworm-slim.
#
#   podman build --format docker -t edgeproxy .        (docker build -t edgeproxy . works the same)
#   podman run -d --name edgeproxy -p 8080:8080 -v edgeproxy-data:/var/lib/edgeproxy edgeproxy
#   podman exec edgeproxy edgeproxy node add sa-node-1 sa 10.50.1.1 8080
#
# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it). On a machine with
# no registry, build/base-images.sh makes debian:bookworm-slim locally first (see README "Deploy").

# --- build: compile the executable with Bun --------------------------------------------------------
# node_modules comes from the build context, installed there by `npm ci`: it carries the Bun compiler
# (npm package "bun"), the dependencies the executable bundles and libsql's prebuilt addon, so this
# stage needs no network.
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY build/build-exe.mjs ./build/
COPY src ./src
RUN node_modules/.bin/bun build/build-exe.mjs --outfile /out/edgeproxy \
 && /out/edgeproxy --version

# --- final: the executable, a non-root user and a volume for routing.db ------------------------------
FROM debian:bookworm-slim
RUN groupadd --gid 10001 edgeproxy \
 && useradd --uid 10001 --gid edgeproxy --home-dir /var/lib/edgeproxy --shell /usr/sbin/nologin edgeproxy \
 && mkdir -p /var/lib/edgeproxy \
 && chown edgeproxy:edgeproxy /var/lib/edgeproxy
COPY --from=build /out/edgeproxy /usr/local/bin/edgeproxy

# Every EDGEPROXY_* variable (README "Configuration") is read from the container's environment:
# pass them with -e / --env-file. These are the image's own defaults.
ENV EDGEPROXY_DB_PATH=/var/lib/edgeproxy/routing.db \
    EDGEPROXY_LISTEN_ADDR=0.0.0.0:8080
VOLUME /var/lib/edgeproxy
WORKDIR /var/lib/edgeproxy
USER edgeproxy:edgeproxy
# proxy 8080, auto-discovery API 8081, TLS 8443, metrics 9090 (the last three only when enabled)
EXPOSE 8080/tcp 8081/tcp 8443/tcp 9090/tcp
# `edgeproxy health`: GET /health on the metrics listener, else on the API, else a TCP connect to
# EDGEPROXY_LISTEN_ADDR; exit 1 while draining after SIGTERM.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["edgeproxy", "health", "--timeout", "4"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["edgeproxy"]
CMD ["serve"]
