# Build: docker build -t relator .     Run: docker run --rm -e DATABASE_URL=… relator [run|migrate|…]
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not re-download modules.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binary: the final image has no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /relator ./cmd/relator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /relator /relator
ENTRYPOINT ["/relator"]
CMD ["run"]
