"""docker-compose.yml, the service Dockerfiles and the monitoring files agree with the code.

No Docker engine is needed: the files are parsed and compared with what the code declares (the
settings classes, the console scripts, the metrics, the topic manifest) and with DOMAIN.md.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from collections_common import metrics as runtime_metrics
from collections_common.settings import ServiceSettings
from tests.golden import shared_dir
from tests.service_commands import SERVICE_COMMANDS

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = REPO / "deploy" / "postgres" / "compose.env.example"
POSTGRES_INIT = REPO / "deploy" / "postgres" / "init-databases.sh"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = REPO / "deploy" / "grafana"
TOPIC_MANIFEST = REPO / "deploy" / "topics.yaml"
KAFKA_POM = REPO / "deploy" / "kafka" / "pom.xml"
SERVICE_DIRS = sorted(path.parent.name for path in (REPO / "services").glob("*/pyproject.toml"))
ROLES = ("api", "worker", "migrate")
REQUIRED_DASHBOARD_METRICS = {
    "collections_events_handled_total",
    "collections_dead_letters_total",
    "collections_consumer_lag",
    "collections_handler_seconds_bucket",
    "collections_outbox_backlog",
    "collections_outbox_publish_latency_seconds_bucket",
}
# Compose service that publishes each piece of infrastructure named in DOMAIN.md section 8.
INFRASTRUCTURE = {
    "kafka": "kafka-1",
    "postgresql": "postgres",
    "prometheus": "prometheus",
    "grafana": "grafana",
}
# Image environment variables that configure the interpreter, not the service.
INTERPRETER_ENV = re.compile(r"PYTHON\w*|PIP_\w*|PATH|VIRTUAL_ENV")


# ---------------------------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves anchors and `<<`
    return document


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


@cache
def example_variables() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in COMPOSE_ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {name.strip(): value.strip() for name, value in pairs}


_VARIABLE = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def variables_in(value: str) -> set[str]:
    return {m["name"] or m["bare"] for m in _VARIABLE.finditer(value.replace("$$", ""))}


def interpolate(value: str) -> str:
    """Compose's variable substitution, with the example values."""
    return _VARIABLE.sub(
        lambda m: example_variables()[m["name"] or m["bare"]], value.replace("$$", "\0")
    ).replace("\0", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(name): interpolate(str(value)) for name, value in raw.items()}


def command(service: dict[str, Any]) -> list[str] | None:
    raw = service.get("command")
    if raw is None:
        return None
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


@dataclass(frozen=True)
class Port:
    host: int
    container: int


def published_ports(service: dict[str, Any]) -> list[Port]:
    ports: list[Port] = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.append(Port(int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        ports.append(Port(int(parts[-2] if len(parts) > 1 else parts[-1]), int(parts[-1])))
    return ports


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            keyword, _, args = logical.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip()))
    return instructions


def dockerfile_args(path: Path) -> dict[str, str]:
    args: dict[str, str] = {}
    for instruction in dockerfile_instructions(path):
        if instruction.keyword == "ARG" and "=" in instruction.args:
            name, value = instruction.args.split("=", 1)
            args[name] = value
    return args


def expand(value: str, variables: dict[str, str]) -> str:
    """Dockerfile substitution of ``$NAME`` / ``${NAME}``; names not in ``variables`` stay as they are."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], m[0]), value)


def runtime_stage(path: Path) -> list[Instruction]:
    """The instructions of the last stage (the image that runs)."""
    instructions = dockerfile_instructions(path)
    last_from = max(i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM")
    return instructions[last_from:]


def dockerfile_cmd(path: Path) -> list[str]:
    cmds = [instruction.args for instruction in runtime_stage(path) if instruction.keyword == "CMD"]
    assert len(cmds) == 1, f"{path}: one CMD expected"
    argv = json.loads(cmds[0])
    assert isinstance(argv, list) and all(isinstance(part, str) for part in argv), f"{path}: CMD in exec form"
    return argv


def dockerfile_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in runtime_stage(path):
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


# ---------------------------------------------------------------------------------------------
# What the code declares
# ---------------------------------------------------------------------------------------------


def pyproject(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = tomllib.loads(path.read_text())
    return document


def console_scripts(project_dir: Path) -> dict[str, str]:
    scripts: dict[str, str] = pyproject(project_dir / "pyproject.toml")["project"].get("scripts", {})
    return scripts


@cache
def settings_class(service_dir: str) -> type[ServiceSettings]:
    """The settings class of a service: the one ServiceSettings subclass of ``<package>.settings``."""
    [target] = console_scripts(REPO / "services" / service_dir).values()
    package = target.split(":")[0].split(".")[0]
    module = importlib.import_module(f"{package}.settings")
    [cls] = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, ServiceSettings) and obj.__module__ == module.__name__
    ]
    return cls


def settings_env_names(cls: type[ServiceSettings]) -> set[str]:
    """The environment variable names a settings class reads (upper-cased unless case-sensitive)."""
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        names.add(prefix + name)
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif alias is not None and hasattr(alias, "choices"):
                names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names if cls.model_config.get("case_sensitive") else {name.upper() for name in names}


def env_name(name: str, cls: type[ServiceSettings]) -> str:
    return name if cls.model_config.get("case_sensitive") else name.upper()


def defaults(service_dir: str) -> ServiceSettings:
    cls = settings_class(service_dir)
    return cls.model_construct()  # field defaults, without reading the environment


@cache
def known_metric_names() -> set[str]:
    """Every sample name the runtime's collectors expose (``_total``, ``_bucket``... included)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
        "stateset": ("",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for collector in vars(runtime_metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "inf",
    "nan",
}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (labels, functions and variables left out)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', " ", expr)  # string literals
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # label matchers, range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # dashboard variables
    return {
        m[1]
        for m in re.finditer(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()", text)
        if m[1].lower() not in _PROMQL_WORDS and not re.fullmatch(r"\d.*|[eE]\d*", m[1])
    }


# ---------------------------------------------------------------------------------------------
# The service containers of the compose file
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    name: str
    service_dir: str
    definition: dict[str, Any]

    @property
    def argv(self) -> list[str]:
        return command(self.definition) or dockerfile_cmd(self.dockerfile)

    @property
    def role(self) -> str:
        return (
            self.argv[1] if self.argv[0] in console_scripts(REPO / "services" / self.service_dir) else "admin"
        )

    @property
    def dockerfile(self) -> Path:
        build: dict[str, str] = self.definition["build"]
        return REPO / build["context"] / build["dockerfile"]

    @property
    def env(self) -> dict[str, str]:
        return environment(self.definition)

    @property
    def settings_class(self) -> type[ServiceSettings]:
        """What reads this container's environment: its service's settings, or the admin tool's."""
        return ServiceSettings if self.role == "admin" else settings_class(self.service_dir)


def service_containers() -> list[Container]:
    """Every compose service built from a service Dockerfile (migrate, api, worker, topics)."""
    containers: list[Container] = []
    for name, definition in services().items():
        build = definition.get("build")
        if isinstance(build, dict):
            dockerfile = PurePosixPath(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")
            parts = PurePosixPath(*[p for p in dockerfile.parts if p != "."]).parts
            if len(parts) == 3 and parts[0] == "services":
                containers.append(Container(name, parts[1], definition))
    return containers


def containers_of(service_dir: str, role: str) -> list[Container]:
    return [c for c in service_containers() if c.service_dir == service_dir and c.role == role]


def the_container(service_dir: str, role: str) -> Container:
    [container] = containers_of(service_dir, role)
    return container


def kafka_brokers() -> dict[str, dict[str, str]]:
    return {
        name: environment(definition)
        for name, definition in services().items()
        if str(definition.get("image", "")).startswith("apache/kafka:")
    }


def bind_mounts() -> Iterator[tuple[str, str, str]]:
    """(compose service, host path, container path) of every bind mount."""
    for name, definition in services().items():
        for volume in definition.get("volumes", []):
            if isinstance(volume, dict):
                if volume.get("type") == "bind":
                    yield name, volume["source"], volume["target"]
                continue
            source, target = str(volume).split(":")[:2]
            if source.startswith((".", "/", "~")):
                yield name, source, target


@cache
def domain_ports() -> dict[str, int]:
    """DOMAIN.md section 8's default ports, by lower-cased name ("agency gateway", "kafka"...)."""
    text = (shared_dir() / "DOMAIN.md").read_text()
    match = re.search(r"Default ports:(.*?)\(", text, re.S)
    assert match, "DOMAIN.md names the default ports"
    pairs = (item.strip().rsplit(None, 1) for item in match[1].split(","))
    return {" ".join(name.split()).lower(): int(port) for name, port in pairs}


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


class TestBuild:
    def test_the_compose_file_follows_the_compose_specification_without_a_version_key(self) -> None:
        assert "version" not in compose()
        assert set(services()) >= {"postgres", "prometheus", "grafana", "topics"}

    def test_every_image_is_pinned_to_a_version(self) -> None:
        for name, definition in services().items():
            image = str(definition["image"])
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            assert tag and tag != "latest", f"{name}: pin a version of {image}"

    def test_every_build_context_exists_and_holds_its_dockerfile(self) -> None:
        builds = {name: s["build"] for name, s in services().items() if "build" in s}
        assert builds
        for name, build in builds.items():
            context = REPO / build["context"]
            assert context.is_dir(), f"{name}: build context {build['context']} does not exist"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: no {build}"

    def test_each_service_folder_has_a_dockerfile_that_compose_builds(self) -> None:
        assert sorted(SERVICE_COMMANDS) == SERVICE_DIRS
        built = {(c.service_dir, c.dockerfile) for c in service_containers()}
        for service_dir in SERVICE_DIRS:
            dockerfile = REPO / "services" / service_dir / "Dockerfile"
            assert dockerfile.is_file(), f"services/{service_dir}/Dockerfile is missing"
            assert (service_dir, dockerfile) in built, f"compose never builds {dockerfile}"

    def test_all_containers_of_a_service_share_one_image(self) -> None:
        for service_dir in SERVICE_DIRS:
            images = {c.definition.get("image") for c in service_containers() if c.service_dir == service_dir}
            assert len(images) == 1 and None not in images, f"{service_dir}: {images}"

    def test_the_service_dockerfiles_differ_only_in_the_service_arguments_and_command(self) -> None:
        def normalized(path: Path) -> str:
            text = re.sub(
                r"^(ARG (?:SERVICE_DIR|HTTP_PORT|WORKER_PORT|SYSTEM_PACKAGES))=.*$",
                r"\1=…",
                path.read_text(),
                flags=re.M,
            )
            return re.sub(r'^CMD \["[^"]+"', 'CMD ["…"', text, flags=re.M)

        texts = {
            service_dir: normalized(REPO / "services" / service_dir / "Dockerfile")
            for service_dir in SERVICE_DIRS
        }
        assert len(set(texts.values())) == 1, "the service Dockerfiles have drifted apart"

    def test_each_dockerfile_builds_its_own_folder_with_the_settings_ports(self) -> None:
        for service_dir in SERVICE_DIRS:
            path = REPO / "services" / service_dir / "Dockerfile"
            args = dockerfile_args(path)
            settings = defaults(service_dir)
            assert args["SERVICE_DIR"] == service_dir, path
            assert int(args["HTTP_PORT"]) == settings.http_port, path
            assert int(args["WORKER_PORT"]) == settings.worker_port, path
            env = {name: expand(value, args) for name, value in dockerfile_env(path).items()}
            assert env["HTTP_HOST"] == "0.0.0.0", f"{path}: the API and worker must listen beyond loopback"
            exposed = {
                expand(port, args)
                for i in runtime_stage(path)
                if i.keyword == "EXPOSE"
                for port in i.args.split()
            }
            assert exposed == {str(settings.http_port), str(settings.worker_port)}, path

    def test_each_image_is_multi_stage_on_python_3_11_slim_and_runs_as_a_non_root_user(self) -> None:
        for service_dir in SERVICE_DIRS:
            path = REPO / "services" / service_dir / "Dockerfile"
            args = dockerfile_args(path)
            froms = [
                expand(i.args.split()[0], args) for i in dockerfile_instructions(path) if i.keyword == "FROM"
            ]
            assert len(froms) >= 2 and all(image.startswith("python:3.11-slim") for image in froms), froms
            users = [i.args for i in runtime_stage(path) if i.keyword == "USER"]
            assert users and users[-1].split(":")[0] not in {"root", "0"}, f"{path}: runs as root"

    def test_each_image_checks_its_health_on_the_api_port(self) -> None:
        for service_dir in SERVICE_DIRS:
            path = REPO / "services" / service_dir / "Dockerfile"
            [check] = [i.args for i in runtime_stage(path) if i.keyword == "HEALTHCHECK"]
            assert "/healthz" in check and "HTTP_PORT" in check and "python" in check, check

    def test_every_image_environment_variable_is_a_setting_of_its_service(self) -> None:
        for service_dir in SERVICE_DIRS:
            cls = settings_class(service_dir)
            names = settings_env_names(cls)
            path = REPO / "services" / service_dir / "Dockerfile"
            unknown = {
                n
                for n in dockerfile_env(path)
                if not INTERPRETER_ENV.fullmatch(n) and env_name(n, cls) not in names
            }
            assert not unknown, f"{path}: ENV {unknown} is not a field of {cls.__name__}"

    def test_the_dockerignore_lets_through_everything_the_images_copy(self) -> None:
        patterns = [
            line.strip()
            for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        for service_dir in SERVICE_DIRS:
            path = REPO / "services" / service_dir / "Dockerfile"
            args = dockerfile_args(path)
            for instruction in dockerfile_instructions(path):
                if instruction.keyword != "COPY" or "--from" in instruction.args:
                    continue
                *sources, _ = [
                    expand(part, args) for part in instruction.args.split() if not part.startswith("--")
                ]
                for source in sources:
                    root = REPO / source
                    assert root.exists(), f"{path}: COPY {source} does not exist"
                    files = (
                        [root]
                        if root.is_file()
                        else [f for f in root.rglob("*") if f.is_file() and not _ignored_by_convention(f)]
                    )
                    assert files, f"{path}: COPY {source} copies nothing"
                    for file in files:
                        relative = file.relative_to(REPO).as_posix()
                        assert not _dockerignored(relative, patterns), f".dockerignore drops {relative}"
        for heavy in (".git", ".venv", ".cache/kafka", "tests/unit/__init__.py"):
            assert _dockerignored(heavy, patterns), f".dockerignore should leave out {heavy}"


_LOCAL_STATE = {"__pycache__", "build", "dist", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _ignored_by_convention(path: Path) -> bool:
    """Build output and caches a developer's checkout may hold, which no image needs."""
    parts = path.relative_to(REPO).parts
    return any(part in _LOCAL_STATE or part.endswith(".egg-info") for part in parts) or path.suffix == ".pyc"


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parents = [
        str(PurePosixPath(*PurePosixPath(path).parts[: n + 1])) for n in range(len(PurePosixPath(path).parts))
    ]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _dockerignore_regex(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in parents):
            ignored = not negate
    return ignored


# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------


class TestPorts:
    def test_each_service_settings_default_port_is_the_one_domain_md_names(self) -> None:
        for service_dir in SERVICE_DIRS:
            assert defaults(service_dir).http_port == domain_ports()[service_dir.replace("-", " ")], (
                service_dir
            )

    def test_each_api_publishes_its_settings_default_port_on_the_same_host_port(self) -> None:
        for service_dir in SERVICE_DIRS:
            api = the_container(service_dir, "api")
            port = defaults(service_dir).http_port
            assert published_ports(api.definition) == [Port(port, port)], api.name
            assert int(api.env["HTTP_PORT"]) == port, api.name

    def test_each_worker_listens_on_its_settings_default_worker_port_and_publishes_nothing(self) -> None:
        for service_dir in SERVICE_DIRS:
            worker = the_container(service_dir, "worker")
            assert int(worker.env["WORKER_PORT"]) == defaults(service_dir).worker_port, worker.name
            assert not published_ports(worker.definition), f"{worker.name}: scraped in the network only"

    def test_the_worker_health_check_asks_the_worker_port(self) -> None:
        for service_dir in SERVICE_DIRS:
            worker = the_container(service_dir, "worker")
            check = " ".join(worker.definition["healthcheck"]["test"])
            assert "WORKER_PORT" in check and "/healthz" in check, worker.name

    def test_kafka_postgres_prometheus_and_grafana_publish_the_ports_domain_md_names(self) -> None:
        for name, service in INFRASTRUCTURE.items():
            port = domain_ports()[name]
            assert Port(port, port) in published_ports(services()[service]), (
                f"{service} should publish {port}"
            )

    def test_no_host_port_is_published_twice(self) -> None:
        hosts = [p.host for s in services().values() for p in published_ports(s)]
        assert len(hosts) == len(set(hosts)), sorted(hosts)


# ---------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------


class TestEnvironment:
    def test_every_variable_given_to_a_service_container_is_a_field_of_its_settings(self) -> None:
        containers = service_containers()
        assert {c.service_dir for c in containers} == set(SERVICE_DIRS)
        for container in containers:
            cls = container.settings_class
            unknown = {n for n in container.env if env_name(n, cls) not in settings_env_names(cls)}
            assert not unknown, f"{container.name}: {unknown} are not fields of {cls.__name__}"

    def test_the_settings_accept_every_container_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for container in service_containers():
            cls = container.settings_class
            names = settings_env_names(cls)
            with monkeypatch.context() as patch:
                for name in list(os.environ):
                    if env_name(name, cls) in names:
                        patch.delenv(name)
                for name, value in container.env.items():
                    patch.setenv(name, value)
                settings = cls()
            if container.role != "admin":
                assert settings.environment == "production", container.name

    def test_every_variable_the_compose_file_interpolates_has_an_example_value(self) -> None:
        used = variables_in(COMPOSE_FILE.read_text())
        assert used, "passwords come from variables, not from the compose file"
        assert used <= set(example_variables()), f"no example for {used - set(example_variables())}"
        for name in used:
            assert re.search(rf"\$\{{{name}:\?", COMPOSE_FILE.read_text()), f"${name} must be required (:?)"

    def test_the_example_passwords_say_they_are_examples(self) -> None:
        for name, value in example_variables().items():
            if "PASSWORD" in name:
                assert "example" in value, f"{name} in {COMPOSE_ENV_EXAMPLE.name} should read as an example"


# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------


@cache
def created_databases() -> list[str]:
    return re.findall(r"^create_database\s+(\w+)\s*$", POSTGRES_INIT.read_text(), re.M)


class TestDatabase:
    def test_postgres_is_the_official_15_image_with_the_init_script_mounted(self) -> None:
        postgres = services()["postgres"]
        assert str(postgres["image"]).split(":")[1].startswith("15"), postgres["image"]
        assert ("postgres", "./deploy/postgres/init-databases.sh") in {
            (name, source)
            for name, source, target in bind_mounts()
            if target.startswith("/docker-entrypoint-initdb.d/")
        }

    def test_every_database_url_is_asyncpg_on_the_postgres_service_with_its_credentials(self) -> None:
        postgres = environment(services()["postgres"])
        for container in service_containers():
            if container.role == "admin":
                assert "DATABASE_URL" not in container.env
                continue
            url = container.env["DATABASE_URL"]
            match = re.fullmatch(r"postgresql\+asyncpg://([^:@/]+):([^@/]+)@([^:/]+):(\d+)/(\w+)", url)
            assert match, f"{container.name}: {url}"
            user, password, host, port, _ = match.groups()
            assert (user, password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]), (
                container.name
            )
            assert host == "postgres" and int(port) == domain_ports()["postgresql"], container.name

    def test_every_database_url_names_a_database_the_init_script_creates(self) -> None:
        for container in service_containers():
            if "DATABASE_URL" in container.env:
                database = container.env["DATABASE_URL"].rsplit("/", 1)[1]
                assert database in created_databases(), f"{container.name}: no database {database}"

    def test_each_service_has_a_database_of_its_own_shared_by_its_migrate_api_and_worker(self) -> None:
        urls = {
            service_dir: {the_container(service_dir, role).env["DATABASE_URL"] for role in ROLES}
            for service_dir in SERVICE_DIRS
        }
        assert all(len(u) == 1 for u in urls.values()), urls
        databases = [next(iter(u)).rsplit("/", 1)[1] for u in urls.values()]
        assert sorted(databases) == sorted(created_databases()), "one database per service, no more"

    def test_the_local_stack_uses_the_same_databases_and_ports(self) -> None:
        from devstack.stack import SERVICES

        for service in SERVICES:
            api = the_container(service.name, "api")
            assert api.env["DATABASE_URL"].rsplit("/", 1)[1] == service.database, service.name
            assert (int(api.env["HTTP_PORT"]), int(api.env["WORKER_PORT"])) == (
                service.http_port,
                service.worker_port,
            ), service.name


# ---------------------------------------------------------------------------------------------
# Mounts and start order
# ---------------------------------------------------------------------------------------------


class TestMountsAndOrder:
    def test_every_file_mounted_from_the_repository_exists(self) -> None:
        mounts = list(bind_mounts())
        assert mounts
        for name, source, _ in mounts:
            assert (REPO / source).exists(), f"{name}: {source} does not exist"

    def test_every_named_volume_is_declared(self) -> None:
        declared = set(compose().get("volumes") or {})
        for name, definition in services().items():
            for volume in definition.get("volumes", []):
                source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
                if source and not source.startswith((".", "/", "~")):
                    assert source in declared, f"{name}: volume {source} is not declared"

    def test_every_dependency_is_a_service_of_the_file(self) -> None:
        for name, definition in services().items():
            for dependency in definition.get("depends_on", {}):
                assert dependency in services(), f"{name} depends on unknown {dependency}"

    def test_api_and_worker_start_after_their_migrations_and_the_topics_succeeded(self) -> None:
        for service_dir in SERVICE_DIRS:
            migrate = the_container(service_dir, "migrate")
            assert migrate.definition["depends_on"]["postgres"]["condition"] == "service_healthy"
            for role in ("api", "worker"):
                container = the_container(service_dir, role)
                depends = container.definition["depends_on"]
                assert depends[migrate.name]["condition"] == "service_completed_successfully", container.name
                assert depends["topics"]["condition"] == "service_completed_successfully", container.name

    def test_the_topics_are_created_once_every_broker_is_healthy(self) -> None:
        depends = services()["topics"]["depends_on"]
        assert {name for name, d in depends.items() if d["condition"] == "service_healthy"} >= set(
            kafka_brokers()
        )
        assert "healthcheck" in services()["postgres"]
        assert all("healthcheck" in services()[name] for name in kafka_brokers())


# ---------------------------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------------------------


def scrape_targets() -> dict[str, str]:
    """``host:port`` -> metrics path, for every static target of deploy/prometheus/prometheus.yml."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets: dict[str, str] = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                targets[target] = job.get("metrics_path", "/metrics")
    return targets


class TestPrometheus:
    def test_prometheus_scrapes_every_api_and_worker_at_its_port(self) -> None:
        targets = scrape_targets()
        for service_dir in SERVICE_DIRS:
            api, worker = the_container(service_dir, "api"), the_container(service_dir, "worker")
            for container, port in ((api, api.env["HTTP_PORT"]), (worker, worker.env["WORKER_PORT"])):
                assert targets.get(f"{container.name}:{port}") == "/metrics", (
                    f"{container.name}:{port} not scraped"
                )

    def test_every_scrape_target_is_a_compose_service(self) -> None:
        for target in scrape_targets():
            host = target.rsplit(":", 1)[0]
            assert host == "localhost" or host in services(), (
                f"{target} is not a service of docker-compose.yml"
            )

    def test_the_prometheus_config_is_mounted_where_prometheus_reads_it(self) -> None:
        prometheus = services()["prometheus"]
        assert str(prometheus["image"]).startswith("prom/prometheus:v"), "pin a Prometheus version"
        mounted = {source: target for name, source, target in bind_mounts() if name == "prometheus"}
        config_path = mounted["./deploy/prometheus/prometheus.yml"]
        assert f"--config.file={config_path}" in (command(prometheus) or []), prometheus.get("command")


# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------


class TestKafka:
    def test_the_cluster_has_three_combined_kraft_brokers_with_one_cluster_id(self) -> None:
        brokers = kafka_brokers()
        assert len(brokers) == 3
        node_ids = {env["KAFKA_NODE_ID"] for env in brokers.values()}
        assert node_ids == {"1", "2", "3"}
        assert all(env["KAFKA_PROCESS_ROLES"] == "broker,controller" for env in brokers.values())
        [cluster_id] = {env["CLUSTER_ID"] for env in brokers.values()}
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, "CLUSTER_ID is a base64 UUID"
        [voters] = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in brokers.values()}
        expected = {(env["KAFKA_NODE_ID"], name) for name, env in brokers.items()}
        assert {tuple(v.split(":")[0].split("@")) for v in voters.split(",")} == expected

    def test_the_cluster_replicates_three_times_and_acknowledges_with_two_in_sync(self) -> None:
        for name, env in kafka_brokers().items():
            assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3", name
            assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2", name
            assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3", name
            assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3", name
            assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2", name
            assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", f"{name}: topics come from the manifest"

    def test_the_topic_manifest_production_profile_matches_the_cluster(self) -> None:
        production = yaml.safe_load(TOPIC_MANIFEST.read_text())["profiles"]["production"]
        assert production == {"replication_factor": 3, "min_insync_replicas": 2}
        assert production["replication_factor"] <= len(kafka_brokers())
        assert production["min_insync_replicas"] < production["replication_factor"], "one broker may be down"

    def test_the_topics_job_applies_the_production_profile_of_the_manifest_the_image_holds(self) -> None:
        [topics] = [c for c in service_containers() if c.name == "topics"]
        argv = topics.argv
        assert argv[:3] == ["collections-admin", "topics", "apply"], argv
        assert "collections-admin" in console_scripts(REPO / "libs" / "common")
        manifest = argv[argv.index("--manifest") + 1]
        assert argv[argv.index("--profile") + 1] == "production"
        copies = [
            i.args.split()[-2:]
            for i in runtime_stage(topics.dockerfile)
            if i.keyword == "COPY" and "--from" not in i.args
        ]
        assert ["deploy/topics.yaml", manifest] in copies, f"the image does not hold {manifest}"

    def test_the_services_bootstrap_from_every_broker_on_its_internal_listener(self) -> None:
        brokers = kafka_brokers()
        internal = set()
        for name, env in brokers.items():
            listener = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
            [address] = [
                a.split("://")[1]
                for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
                if a.startswith(f"{listener}://")
            ]
            assert address.split(":")[0] == name
            internal.add(address)
        for container in service_containers():
            assert set(container.env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == internal, container.name

    def test_the_brokers_run_the_kafka_version_the_tests_run(self) -> None:
        match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
        assert match
        for name, definition in services().items():
            if name in kafka_brokers():
                assert definition["image"] == f"apache/kafka:{match[1]}", name


# ---------------------------------------------------------------------------------------------
# Start commands
# ---------------------------------------------------------------------------------------------


class TestStartCommands:
    def test_each_dockerfile_starts_a_command_the_tests_run(self) -> None:
        for service_dir in SERVICE_DIRS:
            argv = dockerfile_cmd(REPO / "services" / service_dir / "Dockerfile")
            assert argv in SERVICE_COMMANDS[service_dir], f"{service_dir}: CMD {argv}"
            assert argv[1] == "api", "the image starts the API unless told otherwise"

    def test_each_compose_command_of_a_service_is_a_command_the_tests_run(self) -> None:
        for container in service_containers():
            if container.role != "admin":
                assert container.argv in SERVICE_COMMANDS[container.service_dir], (
                    f"{container.name}: {container.argv}"
                )

    def test_compose_runs_the_migrations_the_api_and_the_worker_of_every_service(self) -> None:
        for service_dir in SERVICE_DIRS:
            for role in ROLES:
                assert len(containers_of(service_dir, role)) == 1, f"{service_dir}: one {role} container"

    def test_every_command_the_tests_run_is_a_console_script_of_its_service(self) -> None:
        for service_dir, argvs in SERVICE_COMMANDS.items():
            scripts = console_scripts(REPO / "services" / service_dir)
            assert {argv[0] for argv in argvs} <= set(scripts), f"{service_dir}: not in [project.scripts]"
            assert sorted(argv[1] for argv in argvs) == sorted(ROLES), service_dir

    @pytest.mark.parametrize(
        "argv", [argv for argvs in SERVICE_COMMANDS.values() for argv in argvs], ids=" ".join
    )
    def test_every_command_is_accepted_by_the_installed_script(
        self, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        [script] = entry_points(group="console_scripts", name=argv[0])
        monkeypatch.setattr(sys, "argv", [*argv, "--help"])
        with pytest.raises(SystemExit) as exit_:
            script.load()()
        assert exit_.value.code == 0, capsys.readouterr().err
        assert f"{argv[0]} {argv[1]}" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# Grafana
# ---------------------------------------------------------------------------------------------


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def datasource_references(node: Any) -> Iterator[dict[str, Any]]:
    """Every ``"datasource": {...}`` of a dashboard (panels, targets, template variables...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield value
            else:
                yield from datasource_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_references(item)


def provisioning(kind: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((GRAFANA / "provisioning" / kind).glob("*.y*ml"))]


class TestGrafana:
    def test_the_dashboards_are_valid_json_and_include_the_runtime_dashboard(self) -> None:
        assert "collections-runtime.json" in dashboards()
        uids = [d.get("uid") for d in dashboards().values()]
        assert None not in uids and len(uids) == len(set(uids))

    def test_the_dashboards_query_only_metrics_the_runtime_exposes(self) -> None:
        assert known_metric_names() >= REQUIRED_DASHBOARD_METRICS
        # The platform board; the business board's service metrics: tests/deployment/test_metric_names.py
        for name, dashboard in dashboards().items():
            if name != "collections-runtime.json":
                continue
            for panel in panels(dashboard):
                for target in panel.get("targets", []):
                    queried = promql_metric_names(target["expr"])
                    assert queried, f"{name} {panel['title']!r}: no metric in {target['expr']}"
                    assert queried <= known_metric_names(), f"{name} {panel['title']!r}: unknown {queried}"
            for variable in dashboard.get("templating", {}).get("list", []):
                query = variable.get("query")
                query = query.get("query", "") if isinstance(query, dict) else str(query or "")
                selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
                if selector:
                    assert promql_metric_names(selector[1]) <= known_metric_names(), f"{name}: {query}"

    def test_the_runtime_dashboard_shows_throughput_dead_letters_lag_latency_and_the_outbox(self) -> None:
        dashboard = dashboards()["collections-runtime.json"]
        queried = {
            m for p in panels(dashboard) for t in p.get("targets", []) for m in promql_metric_names(t["expr"])
        }
        assert queried >= REQUIRED_DASHBOARD_METRICS, f"missing {REQUIRED_DASHBOARD_METRICS - queried}"
        expressions = " ".join(t["expr"] for p in panels(dashboard) for t in p.get("targets", []))
        for histogram in (
            "collections_handler_seconds_bucket",
            "collections_outbox_publish_latency_seconds_bucket",
        ):
            assert re.search(rf"histogram_quantile\(0\.95,[^;]*{histogram}", expressions), (
                f"p95 of {histogram}"
            )

    def test_the_dashboards_use_the_provisioned_prometheus_data_source(self) -> None:
        sources = [s for document in provisioning("datasources") for s in document["datasources"]]
        [prometheus] = [s for s in sources if s["type"] == "prometheus"]
        host, port = prometheus["url"].split("://")[1].rstrip("/").split(":")
        assert host == "prometheus" and int(port) == domain_ports()["prometheus"]
        for name, dashboard in dashboards().items():
            references = list(datasource_references(dashboard))
            assert references, f"{name} names no data source"
            assert {ref.get("uid") for ref in references} == {prometheus["uid"]}, f"{name}: {references}"

    def test_grafana_loads_the_dashboards_folder_the_compose_file_mounts(self) -> None:
        assert str(services()["grafana"]["image"]).startswith("grafana/grafana:1"), "pin a Grafana version"
        mounted = {source: target for name, source, target in bind_mounts() if name == "grafana"}
        assert mounted["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
        paths = {
            p["options"]["path"] for document in provisioning("dashboards") for p in document["providers"]
        }
        assert paths == {mounted["./deploy/grafana/dashboards"]}
