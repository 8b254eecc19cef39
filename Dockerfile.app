# syntax=docker/dockerfile:1
# Operator console image: Streamlit on $PORT (Render sets it; 8501 otherwise).

FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/lock.txt requirements/lock.txt
COPY pyproject.toml README.md ./
COPY ml ml
COPY app app
# Only the console's extra, pinned by the project's lock used as a constraints file.
RUN pip install --no-cache-dir -c requirements/lock.txt ".[app]"

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8501 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Streamlit runs the page scripts from files, so the sources sit next to the installed venv.
COPY --chown=10001:10001 app app
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('PORT', '8501'), timeout=4)"]
CMD ["sh", "-c", "exec streamlit run app/Home.py --server.port \"${PORT:-8501}\" --server.address 0.0.0.0 --server.headless true"]
