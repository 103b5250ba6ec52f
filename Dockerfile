FROM python:3.11-slim
WORKDIR /srv/guichet
COPY requirements.lock pyproject.toml README.md alembic.ini ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY app ./app
COPY crm ./crm
COPY channels ./channels
COPY routing ./routing
COPY replies ./replies
COPY alembic ./alembic
RUN pip install --no-cache-dir --no-deps . \
 && useradd --system --home /srv/guichet guichet \
 && mkdir -p var && chown guichet var
USER guichet
EXPOSE 8000
CMD ["guichet", "serve", "--host", "0.0.0.0", "--port", "8000"]
