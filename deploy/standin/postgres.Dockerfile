# Stand-in for postgres:16 from Debian's PostgreSQL (15 on bookworm), behaving like the official
# image where deploy/compose.yaml relies on it: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB
# set up a cluster on first start, the data lives in the volume at /var/lib/postgresql/data,
# `pg_isready` is on PATH and the server runs as the `postgres` user.
ARG BASE
FROM ${BASE}
# The package would create and start a "main" cluster of its own: the entrypoint makes one.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/standin.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/postgresql/*/bin/* /usr/local/bin/ \
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql \
 && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data
ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
# Fast shutdown, as in the official image.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
