# reportedly: docker build -t reportedly . && docker run -p 8000:8000 -v reportedly-data:/data reportedly

# --- builder: the project and every dependency as wheels ------------------------------
FROM python:3.11-slim-bookworm AS builder
LABEL org.opencontainers.image.title="reportedly-builder"
WORKDIR /src
# The dependencies first, from setup.cfg alone (an empty package stands in for the code): this layer
# stays in the build cache until setup.cfg changes, so a change to the code downloads nothing again.
# setuptools' build/ goes too: it would keep the stand-in's files, newer than the real ones copied next.
COPY pyproject.toml setup.cfg ./
RUN mkdir service && touch service/__init__.py README.md \
 && pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]" \
 && rm -rf service README.md build ./*.egg-info /wheels/reportedly-*.whl
COPY README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# --- runtime: the wheel, a non-root user, the data volume -----------------------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="reportedly" \
      org.opencontainers.image.description="A claim-provenance ledger: what is confirmed, and what is only reported" \
      org.opencontainers.image.version="1.0.0" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REPORTEDLY_DATABASE_URL=sqlite:////data/reportedly.db \
    REPORTEDLY_BIND=0.0.0.0:8000 \
    REPORTEDLY_WORKERS=2 \
    REPORTEDLY_SEED=false \
    REPORTEDLY_SEED_PATH=/app/seeds

RUN groupadd --system --gid 10001 reportedly \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home reportedly \
 && mkdir /data \
 && chown 10001:10001 /data

# Installed from the builder's wheels only: the runtime stage downloads nothing.
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "reportedly[postgres]==1.0.0" && rm -rf /wheels

WORKDIR /app
COPY seeds ./seeds

# The folder, not the file: SQLite keeps its -wal and -shm files beside the database.
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-m", "service.healthcheck"]

CMD ["gunicorn", "--config", "python:service.gunicorn_conf", "service.wsgi:app"]
