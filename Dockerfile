# migstat: the SDMX-REST service on gunicorn, embedded SQLite by default.
# Production: set MIGSTAT_DATABASE_URL=postgresql+psycopg://user:pass@host/db and run several replicas.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MIGSTAT_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY dsd ./dsd
COPY codelists ./codelists
COPY mappings ./mappings
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data migstat \
    && mkdir -p /data && chown migstat /data

USER migstat
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status == 200 else 1)"
CMD ["migstat", "serve", "--host", "0.0.0.0", "--port", "8080", "--root", "/app"]
