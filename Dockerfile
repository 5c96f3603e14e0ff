# Switchboard in a container on Debian 12 (docs/operations.md "Installing the package").
#
# NOT BUILT HERE: the machines this project is developed and tested on reach no container
# registry, so this file has never been built; it is documentation for container users. It uses
# only what is tested: scripts/bootstrap, scripts/package (the .deb that the test package.contents
# checks) and the packaged config.
#
#   docker build -t switchboard .
#   docker run -p 8080:8080 -v switchboard-data:/var/lib/switchboard \
#     -e SWITCHBOARD_MASTER_KEY=<openssl rand -hex 32, kept with your backups> \
#     -e ACME_WA_APP_SECRET=... (every secret of your config) switchboard
#
# The container listens on 0.0.0.0:8080, so the gateway refuses to start while a secret is still
# one of the example's public DEV-ONLY values, and names each one with the variable that replaces
# it. Mount your own config over /etc/switchboard/switchboard.yaml (keep storage.path
# /var/lib/switchboard and listen 0.0.0.0). A demo with the example's secrets:
# `docker run -p 8080:8080 switchboard --config /etc/switchboard/switchboard.yaml --allow-dev-secrets`.

# --- build: the toolchain and the -dev packages (scripts/bootstrap), then the .deb ------------
FROM debian:12 AS build
WORKDIR /src
COPY scripts/bootstrap scripts/bootstrap
# bootstrap also installs the test tools (Chromium, Node.js, PostgreSQL...): only in this stage.
RUN scripts/bootstrap
COPY . .
RUN SB_BUILD_DIR=/build scripts/package && cp /build/packages/switchboard_*.deb /switchboard.deb

# --- runtime: the package, which pulls only the shared libraries it links (its Depends) --------
FROM debian:12-slim
COPY --from=build /switchboard.deb /tmp/switchboard.deb
# The package's postinst creates the user `switchboard` and a master key in
# /etc/switchboard/switchboard.env. That key would be the same in every container of the image:
# removed; SWITCHBOARD_MASTER_KEY comes from `docker run -e` (or an orchestrator's secret).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl /tmp/switchboard.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/switchboard.deb /etc/switchboard/switchboard.env \
 && sed -i 's/^  listen: "127\.0\.0\.1:8080"/  listen: "0.0.0.0:8080"/' /etc/switchboard/switchboard.yaml \
 && grep -q '^  listen: "0.0.0.0:8080"' /etc/switchboard/switchboard.yaml \
 && install -d -o switchboard -g switchboard -m 0700 /var/lib/switchboard

USER switchboard
WORKDIR /var/lib/switchboard
VOLUME ["/var/lib/switchboard"]
EXPOSE 8080
# GET /healthz: liveness (docs/DESIGN.md); curl is installed above for it.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
# SIGTERM (docker stop) drains requests for server.shutdown_grace_ms: give it that long
# (`docker stop -t`); SIGHUP (`docker kill -s HUP`) re-reads the config.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/switchboard"]
CMD ["--config", "/etc/switchboard/switchboard.yaml"]
