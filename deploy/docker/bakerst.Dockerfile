# syntax=docker/dockerfile:1
# The bakerst core: one compiled binary (UI, migrations, sqlite-vec inside) on
# distroless: glibc and CA certificates, no shell, no package manager.
# Multi-arch: the release workflow builds dist/linux-amd64/bakerst and
# dist/linux-arm64/bakerst (bun build.ts --platform ...), then
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/bakerst.Dockerfile .
FROM gcr.io/distroless/base-debian12:nonroot
ARG TARGETARCH
COPY --chmod=0555 dist/linux-${TARGETARCH}/bakerst /usr/local/bin/bakerst
# Not root; Kubernetes runs it as 1000 with a read-only root and /data, /tmp mounted.
USER 1000:1000
ENV HOST=0.0.0.0 PORT=3000 BAKERST_DATA_DIR=/data
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/bakerst"]
CMD ["serve"]
