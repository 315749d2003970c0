# The MonitorFish backend as seen by mfbot's tests: the static fakeapp binary, nothing else.
# Built by testenv/up.sh with the legacy builder, from a context holding only the binary:
#   DOCKER_BUILDKIT=0 docker build -f testenv/images/Dockerfile.app \
#     --build-arg VERSION=1.0.0 --build-arg COMMIT=c0ffee01 -t 127.0.0.1:5000/monitorfish-app:v1 <dir>
# Instructions that do not depend on the version come first so that v1, v2 and broken share them
# (each step of the legacy builder costs a container commit, slow on the vfs storage driver).
FROM scratch
EXPOSE 8880
ENTRYPOINT ["/fakeapp"]
CMD ["app"]
COPY fakeapp /fakeapp
ARG VERSION=dev COMMIT=unknown
LABEL org.opencontainers.image.title="monitorfish-app" \
      org.opencontainers.image.description="mfbot test double of the MonitorFish backend" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      mfbot.testenv="1"
