# Operator console image: Streamlit on $PORT (Render sets it; 8501 otherwise).
# BASE_IMAGE: the official image for deploys; the tests pass a local stand-in built by
# scripts/build_base_image.sh (same Debian bookworm and Python 3.11). `python3` exists in both.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# The exact packages to install, resolved against the lock: the layer that installs them below stays
# cached until one of them changes (not on every pyproject.toml or lock edit).
FROM ${BASE_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
COPY requirements/lock.txt requirements/lock.txt
COPY scripts/extra_requirements.py scripts/
RUN python3 scripts/extra_requirements.py app > wanted.txt \
    && python3 -m venv /tmp/resolver \
    && /tmp/resolver/bin/pip install -q --disable-pip-version-check --dry-run --ignore-installed \
        --report report.json -c requirements/lock.txt -r wanted.txt \
    && python3 scripts/extra_requirements.py --pinned report.json > requirements.txt

FROM ${BASE_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY --from=requirements /src/requirements.txt requirements.txt
# The core and the console's extra, as resolved above; pip and test suites are not needed at run time.
RUN pip install --no-cache-dir --no-deps -r requirements.txt \
    && pip uninstall -y -q pip setuptools \
    && find /opt/venv/lib/python3.11/site-packages -depth -mindepth 2 -type d -name tests -exec rm -rf {} +

FROM ${BASE_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PARAMS_PATH=/app/params.yaml \
    PORT=8501 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
# LightGBM (imported with the ml package) links the system OpenMP runtime, which slim images lack.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14* \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Streamlit runs the page scripts from files: the sources sit in /app, on PYTHONPATH.
COPY ml ml
COPY app app
# The console's roles and API tokens are the API's own (app/auth.py imports them): those modules only.
COPY api/__init__.py api/identity_roles.py api/identity_tokens.py api/
# Training parameters and thresholds (drift threshold, quality gate): PARAMS_PATH points here.
COPY params.yaml params.yaml
RUN chown 10001:10001 /app
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('PORT', '8501'), timeout=4)"]
CMD ["sh", "-c", "exec streamlit run app/Home.py --server.port \"${PORT:-8501}\" --server.address 0.0.0.0 --server.headless true"]
