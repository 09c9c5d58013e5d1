# syntax=docker/dockerfile:1
#
# The bounced image: a static binary on distroless, running as a non-root
# user, with `bounced` as the entrypoint.
#
#     docker build -t bounced .
#     docker run --rm bounced explain 554
#     docker run -d -v /etc/bounced:/etc/bounced:ro -e DATABASE_URL=... -p 8080:8080 bounced run
#
# TestDockerfile (cmd/bounced/docker_test.go) runs the build stage's
# `go build` exactly as written here and checks the binary is static; CI
# cannot run Docker itself (see README, "Container image").

ARG GO_VERSION=1.26

# --- build: a static binary, no cgo, reproducible paths.
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/bounced ./cmd/bounced

# --- final: distroless static (CA certificates, tzdata, /etc/passwd with
# nonroot), no shell; uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bounced /usr/local/bin/bounced
USER nonroot:nonroot
ENV BOUNCED_CONFIG=/etc/bounced/bounced.conf
EXPOSE 8080
# /healthz answers 200 while the process is up; the image has no curl, so
# the binary asks it itself (the listen address from BOUNCED_CONFIG).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/bounced", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/bounced"]
CMD ["run"]
