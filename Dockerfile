# klaxon in a container: a release build on the Rust image, run as a
# non-root user on Debian slim.
#
#   podman build -t klaxon .        (or docker build)
#   podman run -p 9464:9464 klaxon  (the embedded demo config, /health on 9464)
#
# The base images are build arguments so that an air-gapped build can
# point them at a local mirror; the Rust tag must match rust-toolchain.toml.
ARG RUST_IMAGE=docker.io/library/rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# The build script compiles the stock plugins to wasm and embeds them in
# the binary, so both wasm targets are needed; they are added before the
# sources are copied so the layer is reused across source changes.
RUN rustup target add wasm32-unknown-unknown wasm32-wasip2
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p klaxon --bin klaxon \
    && install -m 0755 target/release/klaxon /usr/local/bin/klaxon

FROM ${RUNTIME_IMAGE}
# libssl3 for native-tls (venue sockets, sinks); curl for HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 klaxon \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/klaxon \
       --create-home --shell /usr/sbin/nologin klaxon
COPY --from=build /usr/local/bin/klaxon /usr/local/bin/klaxon
COPY config/klaxon.toml /etc/klaxon/klaxon.toml
# Config is layered under KLAXON_<SECTION>__<KEY>: serve on every
# interface (the demo config says 127.0.0.1), and keep the alert log and
# the plugin cache in the one writable directory, whatever the working
# directory a runtime starts us in.
ENV KLAXON_SERVER__LISTEN=0.0.0.0:9464 \
    KLAXON_ALERT_LOG__URL=sqlite:///var/lib/klaxon/alerts.db \
    KLAXON_PLUGINS__CACHE_DIR=/var/lib/klaxon/cache
WORKDIR /var/lib/klaxon
VOLUME ["/var/lib/klaxon"]
USER 10001:10001
EXPOSE 9464
# Liveness only; /ready is for orchestrators that route traffic.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9464/health || exit 1
ENTRYPOINT ["klaxon"]
CMD ["run", "--config", "/etc/klaxon/klaxon.toml"]
