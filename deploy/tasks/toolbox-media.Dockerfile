# syntax=docker/dockerfile:1
# An example toolbox: the task runner plus tools for media libraries. A task
# asks for it by name ({"toolbox": "media"}); the owner names the image in
# bakerst.yaml:
#   tasks:
#     toolboxes:
#       media: { image: ghcr.io/bakerst/toolbox-media:0.1.0, paths: [/opt/toolbox/media/bin] }
# (`paths` is the same toolbox for local tasks: host directories bound read-only and put first on PATH.)
ARG RUNNER=ghcr.io/bakerst/task-runner:0.1.0
FROM ${RUNNER}
USER 0:0
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libimage-exiftool-perl jq rsync \
 && rm -rf /var/lib/apt/lists/*
USER 1000:1000
