# The engine's production image: `billing` on the locked dependencies, as a non-root user.
# Built by compose.yaml (`docker compose build`); the same image runs `serve`, `project`
# and `web`.

# --- build: a virtual environment with the locked dependencies and the engine ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/billing
COPY requirements.lock /tmp/requirements.lock
RUN /opt/billing/bin/pip install --requirement /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY engine /src/engine
COPY projections /src/projections
COPY commands /src/commands
COPY schemas /src/schemas
COPY web /src/web
# --no-deps: everything it needs came from the lock file above.
RUN /opt/billing/bin/pip install --no-deps /src

# --- run: the environment alone, owned by root, run by an unprivileged user ---
FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/billing --create-home billing
COPY --from=build /opt/billing /opt/billing
ENV PATH=/opt/billing/bin:$PATH PYTHONUNBUFFERED=1
USER billing
WORKDIR /var/lib/billing
ENTRYPOINT ["billing"]
CMD ["--help"]
