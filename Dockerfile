# syntax=docker/dockerfile:1
#
# Scalemark image: one image for every role (web, worker, migrate).
#
#   docker build -t scalemark .
#   docker run --rm -e DATABASE_URL=… -e REDIS_URL=… -e SECRET_KEY=… -p 8000:8000 scalemark
#   docker run --rm … scalemark scalemark worker
#   docker run --rm … scalemark scalemark migrate
#
# The code lives in /app and is installed in editable mode: scalemark.PROJECT_ROOT is the
# parent of src/, so templates/, static/, locales/, migrations/ and tenants/ are found in /app.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: virtualenv with the dependencies, the project and compiled catalogs --------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# .dockerignore is an allow-list: src, templates, static, locales, migrations, tenants.
COPY . .

RUN pip install --no-deps -e /app \
    && if ls locales/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
           pybabel compile -d locales -D messages --statistics; \
       fi \
    && python -m compileall -q src /opt/venv/lib

# --- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Pango and fonts for print/PDF rendering; fontconfig's cache is built once here.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig \
    && rm -rf /var/lib/apt/lists/* \
    && fc-cache -f

RUN groupadd --system --gid 10001 scalemark \
    && useradd --system --uid 10001 --gid scalemark --home-dir /home/scalemark \
        --create-home --shell /usr/sbin/nologin scalemark \
    && mkdir -p /home/scalemark/.cache \
    && chown -R scalemark:scalemark /home/scalemark

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/scalemark \
    XDG_CACHE_HOME=/home/scalemark/.cache \
    PORT=8000

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

WORKDIR /app
USER scalemark

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["scalemark", "serve"]
