# comprimemelo: web, worker or both (`serve`, the default) in one image.
#
#   podman build -t comprimemelo .        (or docker build)
#   podman run -p 8000:8000 -v comprimemelo-data:/data comprimemelo
#
# Two stages: the first builds the project's wheel and a virtual environment of
# it and its dependencies (wheels from PyPI); the second is the slim Python image
# with the worker's system tools, that environment, and a user that is not root.
# PYTHON_IMAGE may name any Debian 12 image with python3 (>= 3.11) and its venv
# module: container/verify.sh builds one with mmdebstrap where no registry is reachable.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY src ./src
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install -q "setuptools>=69" wheel \
 && /opt/build/bin/pip wheel -q --no-deps --no-build-isolation --wheel-dir /wheels . \
 && python3 -m venv /opt/comprimemelo/venv \
 && /opt/comprimemelo/venv/bin/pip install -q /wheels/comprimemelo-*.whl \
 && /opt/comprimemelo/venv/bin/comprimemelo --version

FROM ${PYTHON_IMAGE}
# lbzip2 writes tar.bz2 (in-process libbz2 without it, slower); prlimit (util-linux)
# caps its memory; 7-Zip's engine comes inside the pybit7z wheel.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lbzip2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 comprimemelo \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin comprimemelo \
 && install -d -m 0700 -o comprimemelo -g comprimemelo /data
COPY --from=build /opt/comprimemelo/venv /opt/comprimemelo/venv
ENV PATH=/opt/comprimemelo/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    COMPRIMEMELO_DATA_DIR=/data \
    COMPRIMEMELO_HOST=0.0.0.0 \
    COMPRIMEMELO_PORT=8000
USER comprimemelo
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# /healthz answers 200 while the web role serves (a Docker-format image keeps this:
# `podman build --format docker`).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('COMPRIMEMELO_PORT', '8000')}/healthz\", timeout=4)"]
ENTRYPOINT ["comprimemelo"]
CMD ["serve"]
