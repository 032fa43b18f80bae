# otelcol-dynamo container image.
#
#   make docker     # docker build -t otelcol-dynamo:latest .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 13133:13133 \
#     -e TEMPO_ENDPOINT=tempo:4317 -e LOKI_ENDPOINT=http://loki:3100/otlp otelcol-dynamo:latest
#
# Build stage: the binary is compiled exactly as `make build` compiles it, from
# cmd/otelcol-dynamo, which `make generate` writes from builder-config.yaml (a
# test fails when the two disagree). A test also checks that this stage runs
# `make build` and copies the file the Makefile writes.
#
# Final stage: the binary, CA certificates, the gateway configuration at
# /etc/otelcol-dynamo/config.yaml (the default; mount another file there or
# pass --config), a non-root user (10001) and the writable state folder
# /var/lib/otelcol-dynamo, where the gateway keeps its persistent sending queues
# (STORAGE_DIR defaults to /var/lib/otelcol-dynamo/storage). Nothing else: no
# shell, no package manager.

FROM golang:1.26 AS build
WORKDIR /src
# The final stage has no C library: build a static binary.
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build
# The files the final stage needs besides the binary: the gateway
# configuration, an unprivileged user and its state folder.
RUN mkdir -p /rootfs/etc/otelcol-dynamo /rootfs/var/lib/otelcol-dynamo/storage \
 && cp configs/otelcol-dynamo.yaml /rootfs/etc/otelcol-dynamo/config.yaml \
 && echo 'otelcol:x:10001:10001:otelcol-dynamo:/var/lib/otelcol-dynamo:/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'otelcol:x:10001:' > /rootfs/etc/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /rootfs/etc/ /etc/
COPY --from=build --chown=10001:10001 /rootfs/var/lib/otelcol-dynamo /var/lib/otelcol-dynamo
COPY --from=build /src/bin/otelcol-dynamo /usr/bin/otelcol-dynamo
USER 10001:10001
WORKDIR /var/lib/otelcol-dynamo
# OTLP gRPC, OTLP HTTP, health check, the collector's own metrics.
EXPOSE 4317 4318 13133 8888
ENTRYPOINT ["/usr/bin/otelcol-dynamo"]
CMD ["--config", "/etc/otelcol-dynamo/config.yaml"]
