# syntax=docker/dockerfile:1
# bakerst-satellite: the compiled worker binary, with the few programs command
# jobs run by default (date, df, uptime, free) and bubblewrap for the sandbox,
# on Debian's slim image. Multi-arch like bakerst.Dockerfile:
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/bakerst-satellite.Dockerfile .
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends procps bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG TARGETARCH
COPY --chmod=0555 dist/linux-${TARGETARCH}/bakerst-satellite /usr/local/bin/bakerst-satellite
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/bakerst-satellite"]
CMD ["--mode", "worker"]
