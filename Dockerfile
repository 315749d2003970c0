# mfbot image: a static binary on an empty base, run as an unprivileged user,
# with a HEALTHCHECK (`mfbot healthcheck` asks the process's /healthz).
#
#   docker build -t mfbot .
#       builds the binary in the golang image (pulled from your registry);
#   CGO_ENABLED=0 go build -trimpath -o dist/mfbot . && mkdir -p dist/data \
#     && cp /etc/ssl/certs/ca-certificates.crt dist/ && docker build --target from-host -t mfbot .
#       ships a binary built on the host (no golang image needed).
#
# To reach the Docker socket, run with the socket's group
# (`--group-add $(stat -c %g /var/run/docker.sock)`) or, better, through a
# socket proxy that allows only the endpoints mfbot uses (see README).

# from-host comes first: the legacy builder builds every stage before its
# target, and this one must not need the golang image.
FROM scratch AS from-host
COPY dist/ca-certificates.crt /etc/ssl/certs/
COPY dist/mfbot /mfbot
COPY --chown=65532:65532 dist/data /data
USER 65532:65532
ENV MFBOT_STORE=/data/mfbot.db MFBOT_HTTP_ADDR=0.0.0.0:8090
VOLUME /data
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/mfbot", "healthcheck"]
ENTRYPOINT ["/mfbot"]
CMD ["run"]

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/mfbot . \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/mfbot /mfbot
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV MFBOT_STORE=/data/mfbot.db MFBOT_HTTP_ADDR=0.0.0.0:8090
VOLUME /data
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/mfbot", "healthcheck"]
ENTRYPOINT ["/mfbot"]
CMD ["run"]
