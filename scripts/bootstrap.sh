#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind, and nothing twice:
# Java 17 and Maven (to fetch and run Apache Kafka), PostgreSQL's server, and a Python
# virtualenv (.venv) with every package of the repo installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null || need_apt+=(postgresql-client)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need_apt[*]} (install them, or run this as root)" >&2
    exit 1
  fi
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian starts a system cluster on install; the project runs its own private clusters.
  command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' |
    while read -r version name; do pg_ctlcluster "$version" "$name" stop 2>/dev/null || true; done
fi

stamp=.venv/.installed
inputs=(constraints.txt requirements-dev.txt libs/common/pyproject.toml deploy/devstack/pyproject.toml services/*/pyproject.toml)
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ -n "$(find "${inputs[@]}" -newer "$stamp" 2>/dev/null)" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -c constraints.txt -r requirements-dev.txt \
    -e libs/common -e deploy/devstack \
    -e services/aging -e services/contact -e services/escalation -e services/agency-gateway
  touch "$stamp"
fi
