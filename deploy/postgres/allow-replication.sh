#!/bin/sh
# Mounted into the Compose `postgres` service's /docker-entrypoint-initdb.d, so
# it runs once, when that service initialises an empty data directory: lets
# streaming standbys (the `ha` profile's postgres-standby) connect for
# replication as the oee role, with its password. The image itself admits only
# ordinary connections from other hosts.
set -eu
printf 'host replication %s all scram-sha-256\n' "$POSTGRES_USER" >> "$PGDATA/pg_hba.conf"
