# syntax=docker/dockerfile:1
# SocketGuard operator and admission webhook image.
#   docker build -t ghcr.io/socketguard/socketguard:0.1.0 .
# The chart runs `socketguard operator` (the default command), `socketguard webhook` and
# `socketguard operator --cleanup` from this image, as UID 10001 on a read-only root filesystem.
# PYTHON_IMAGE may be any Debian-based image with Python >= 3.11 and its venv module, e.g. one made
# from Debian's packages (`python -m socketguard.testing image build` does that: see docs/install.md).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Install the package with its `operator` extra into a virtual environment in a throwaway stage, so
# the runtime image has no build tools and no source tree. (A virtual environment: Debian's own
# Python refuses pip installs into the system, PEP 668.) The runtime stage copies the environment:
# a COPY is cached by its content, whereas a RUN that only bind-mounts the build stage's output is
# cached by its command line, so podman/buildah reused a stale layer after the source changed.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python3 -m venv /opt/socketguard \
 && /opt/socketguard/bin/pip wheel --wheel-dir /wheels ".[operator]" \
 && /opt/socketguard/bin/pip install --no-index --find-links=/wheels "socketguard[operator]"

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="socketguard" \
      org.opencontainers.image.description="Socket.IO/WebSocket route checks for Kubernetes: operator and admission webhook" \
      org.opencontainers.image.licenses="Apache-2.0"
# No .pyc writes (the root filesystem is read-only in the chart) and unbuffered logs.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/socketguard \
    PATH=/opt/socketguard/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The environment's interpreter links to the base's python3, the same path in both stages.
COPY --from=build /opt/socketguard /opt/socketguard
RUN groupadd --system --gid 10001 socketguard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin socketguard
# Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 8443
ENTRYPOINT ["socketguard"]
CMD ["operator"]
