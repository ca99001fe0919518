# relator's image: one static binary on distroless, run as a non-root user.
#
#   docker build -t ghcr.io/relator/relator:latest .
#   docker run --rm -e DATABASE_URL=postgres://… ghcr.io/relator/relator:latest migrate
#   docker run --rm -e DATABASE_URL=postgres://… -p 9090:9090 ghcr.io/relator/relator:latest
#
# The default command is `schedule` (stays up, passes on RELATOR_SCHEDULE,
# /healthz and /metrics on :9090); give `run` for one pass, e.g. from cron.
# deploy/deploy_test.go checks this file.

# ---- build stage: the Go toolchain, thrown away after the build ----
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static: no cgo, so the final image needs no libc. -trimpath and -s -w
# keep build paths and symbol tables out of the binary.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags='-s -w' -o /out/relator ./cmd/relator

# ---- final stage: only the binary, CA certificates and a passwd entry ----
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relator /usr/local/bin/relator
# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd
# lookups: 65532 is distroless' "nonroot".
USER 65532:65532
# relator schedule's /healthz and /metrics (RELATOR_HTTP_ADDR, default :9090).
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/relator"]
CMD ["schedule"]
