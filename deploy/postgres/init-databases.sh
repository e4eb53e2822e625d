#!/usr/bin/env bash
# Creates one database per service, owned by the application role (POSTGRES_USER).
# Run once by the postgres image's entrypoint, from /docker-entrypoint-initdb.d/, on an empty
# data volume. Each service keeps its own schema and Alembic version table in its database.
set -euo pipefail

create_database() {
    local name="$1"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set=db="$name" --set=owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
}

create_database aging
create_database contact
create_database escalation
create_database agency_gateway
