# syntax=docker/dockerfile:1
# The image of a task pod (TASK_IMAGE): bakerst-satellite as the task runner,
# a shell and the everyday tools a script reaches for, running as uid 1000.
# The Job runs /usr/local/bin/bakerst-satellite --mode task with the task in
# TASK_SPEC; the pod's read-only root, dropped capabilities and the
# NetworkPolicy are the boundary. Multi-arch like the other images:
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/tasks/task-runner.Dockerfile -t ghcr.io/bakerst/task-runner:0.1.0 .
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl procps \
 && rm -rf /var/lib/apt/lists/*
ARG TARGETARCH
COPY --chmod=0555 dist/linux-${TARGETARCH}/bakerst-satellite /usr/local/bin/bakerst-satellite
USER 1000:1000
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/bakerst-satellite", "--mode", "task"]
