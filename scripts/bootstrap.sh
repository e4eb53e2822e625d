#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind, and nothing twice (wrk too):
# Java 17 and Maven (to fetch and run Apache Kafka), PostgreSQL's server, Prometheus (for
# promtool, which checks and unit-tests the alert rules), kustomize (built once from the Go
# module proxy into .cache/bin, for the Kubernetes manifests), and a Python virtualenv (.venv)
# with every package of the repo installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v wrk >/dev/null || need_apt+=(wrk)  # the agency gateway's read benchmark (HTTP load)
# WeasyPrint (the escalation service's letters to PDF) loads Pango, HarfBuzz's subsetter and
# fontconfig at run time; zh-CN letters need a CJK font.
shared_libs=$(ldconfig -p)
for lib in libpango-1.0-0:libpango-1.0.so.0 libpangoft2-1.0-0:libpangoft2-1.0.so.0 \
  libharfbuzz-subset0:libharfbuzz-subset.so.0 libfontconfig1:libfontconfig.so.1; do
  grep -qF "${lib#*:}" <<<"$shared_libs" || need_apt+=("${lib%%:*}")
done
{ command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || need_apt+=(fonts-wqy-zenhei)
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
  # Likewise Prometheus (and its node exporter): only promtool is wanted.
  for unit in prometheus prometheus-node-exporter; do
    if [ -x "/etc/init.d/$unit" ]; then
      command -v systemctl >/dev/null && systemctl disable --now "$unit" >/dev/null 2>&1 || true
      "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
    fi
  done
fi

# kustomize renders deploy/k8s (tests/deployment/test_k8s.py); built from the Go module proxy.
kustomize_version=v5.7.1
kustomize=.cache/bin/kustomize
if [ ! -x "$kustomize" ] || [ "$("$kustomize" version 2>/dev/null)" != "$kustomize_version" ]; then
  command -v go >/dev/null || { echo "go is needed to build kustomize $kustomize_version" >&2; exit 1; }
  echo "building kustomize $kustomize_version (once)"
  mkdir -p .cache/bin
  GOBIN="$PWD/.cache/bin" GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version"
fi

# The interpreter: $PYTHON if set, else the distribution's CPython when it is 3.11 or newer, else
# python3. Debian builds its CPython with profile-guided optimisation and LTO and links it
# statically; pyenv's default build has none of that and ran the aging worker's hot path about
# 1.6x slower here (docs/benchmarks.md).
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
: "${python:?no Python 3.11 or newer with venv and ensurepip found (set PYTHON)}"
interpreter=$("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')

stamp=.venv/.installed
inputs=(constraints.txt requirements-dev.txt libs/common/pyproject.toml deploy/devstack/pyproject.toml deploy/simulator/pyproject.toml deploy/sandbox/pyproject.toml services/*/pyproject.toml)
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$interpreter" ] ||
  [ -n "$(find "${inputs[@]}" -newer "$stamp" 2>/dev/null)" ]; then
  echo "creating .venv with $interpreter"
  "$python" -m venv --clear .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -c constraints.txt -r requirements-dev.txt \
    -e libs/common -e deploy/devstack -e deploy/simulator -e deploy/sandbox \
    -e services/aging -e services/contact -e services/escalation -e services/agency-gateway
  echo "$interpreter" >"$stamp"
fi
