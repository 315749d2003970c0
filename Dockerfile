# mfbot image: a static binary on an empty base.
#   docker build -t mfbot .
# The build stage needs the golang image (pulled from your registry); the
# result has no shell and runs as an unprivileged user.

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
# Non-root. To reach the Docker socket, run with the socket's group
# (`--group-add $(stat -c %g /var/run/docker.sock)`) or, better, through a
# socket proxy that allows only the endpoints mfbot uses (see README).
USER 65532:65532
ENV MFBOT_STORE=/data/mfbot.db MFBOT_HTTP_ADDR=0.0.0.0:8090
VOLUME /data
EXPOSE 8090
ENTRYPOINT ["/mfbot"]
CMD ["run"]
