# The fitwatch server for a team's shared instance (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY client_sdk client_sdk
COPY server server
COPY web web
COPY migrations migrations
RUN pip install --no-cache-dir '.[server,postgres]'
EXPOSE 8000
# Listening on 0.0.0.0 (inside the container) needs auth: the server refuses it otherwise.
ENV FITWATCH_AUTH=on
# 0.0.0.0 inside the container only; docker-compose.yml publishes it on the host's loopback.
CMD ["fitwatch", "server", "--host", "0.0.0.0", "--port", "8000"]
