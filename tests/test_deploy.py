"""deploy/ against the code: the container image, the compose file, the Kubernetes manifests
and the docs' commands must agree with the real `linkindex` parser and with what the code
reads, so the two cannot drift apart. Nothing here needs Docker or a cluster."""

from __future__ import annotations

import ast
import base64
import contextlib
import copy
import fnmatch
import functools
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from linkindex.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))
DOCS = [REPO / "README.md", DEPLOY / "README.md"]
# Compose's variables for the tests: the example .env with a password filled in.
TEST_PASSWORD = "0123456789abcdef"


# --- the image ----------------------------------------------------------------------


def final_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) of the Dockerfile's last stage, continuation lines joined."""
    stages: list[list[tuple[str, str]]] = []
    for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            if instruction.upper() == "FROM":
                stages.append([])
            stages[-1].append((instruction.upper(), rest.strip()))
    return stages[-1]


def exec_form(instruction: str) -> list[str]:
    """The last ENTRYPOINT or CMD, which must be in exec (JSON) form: a shell form would
    make /bin/sh PID 1, and the worker would never see SIGTERM."""
    values = [rest for name, rest in final_stage() if name == instruction]
    assert values, f"Dockerfile has no {instruction}"
    argv = json.loads(values[-1])
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), values[-1]
    return argv


def image_env() -> dict[str, str]:
    env = {}
    for name, rest in final_stage():
        if name == "ENV":
            for pair in shlex.split(rest):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV {rest!r}: use the KEY=VALUE form"
                env[key] = value
    return env


def image_argv(entrypoint: list[str] | None, command: list[str] | None) -> list[str]:
    """What a container of our image runs (Docker's and Kubernetes' rule: a new
    entrypoint drops the image's CMD)."""
    if entrypoint is not None:
        return entrypoint + (command or [])
    return ENTRYPOINT + (CMD if command is None else command)


def is_our_image(image: str) -> bool:
    name = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return name == "linkindex"


def runs_linkindex(argv: list[str]) -> bool:
    return bool(argv) and Path(argv[0]).name == "linkindex"


# --- the compose file ---------------------------------------------------------------

INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


def dotenv(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: {line!r} is not NAME=VALUE"
            env[key.strip()] = value.strip()
    return env


def interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$; strict: a
    variable with neither a value nor a default is an error, not an empty string."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg")
        val = env.get(name)
        missing = val is None or (val == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if missing else val
        if missing:
            raise ValueError(f"${{{name}}} is not set ({arg or 'no default'})")
        return val

    return INTERPOLATION.sub(one, value)


def compose(env: dict[str, str]) -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), env)


def compose_env() -> dict[str, str]:
    return {**dotenv(DEPLOY / ".env.example"), "REDIS_PASSWORD": TEST_PASSWORD}


def service_env(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def as_argv(value) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def service_argv(service: dict) -> list[str]:
    if "build" in service or is_our_image(service.get("image", "")):
        return image_argv(as_argv(service.get("entrypoint")), as_argv(service.get("command")))
    return (as_argv(service.get("entrypoint")) or []) + (as_argv(service.get("command")) or [])


def volume_mounts(service: dict) -> dict[str, str]:
    """target → source of a service's volumes (short and long syntax)."""
    mounts = {}
    for v in service.get("volumes", []):
        if isinstance(v, str):
            source, target = v.split(":")[:2]
        else:
            source, target = v.get("source"), v["target"]
        mounts[target] = source
    return mounts


def parse_duration(text: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"bad duration {text!r}"
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u] for n, u in parts)


# --- the Kubernetes manifests -------------------------------------------------------


Objects = list[tuple[str, dict]]  # (where it comes from, the object)


def yaml_docs(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def k8s_objects() -> Objects:
    """The base: every manifest in deploy/k8s/, the on-demand Jobs and the example
    Secret (the stand-in for the real one) included."""
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml_docs(path):
            if doc.get("kind") != "Kustomization":
                objects.append((path.name, doc))
    return objects


# --- kustomize, as far as these manifests use it ------------------------------------
# resources (files, folders), components, and patches: strategic merge (with
# `$patch: delete`) or JSON 6902 operations. test_render_matches_kubectl_kustomize checks
# this against the real kustomize where kubectl is installed.

# Lists merged entry by entry in a strategic merge patch, by this key (Kubernetes'
# patchMergeKey); any other list is replaced whole.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath"}


def kustomization(folder: Path) -> dict:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def kustomize(folder: Path, components: Sequence[Path] = (), into: Objects = ()) -> Objects:
    """What `kubectl kustomize folder` makes (with `components` added to its own)."""
    k = kustomization(folder)
    objects = list(into)
    for entry in k.get("resources", []):
        path = folder / entry
        if path.is_dir():
            objects += kustomize(path)
        else:
            objects += [(path.relative_to(K8S).as_posix(), d) for d in yaml_docs(path)]
    for component in [*(folder / c for c in k.get("components", [])), *components]:
        assert kustomization(component)["kind"] == "Component", component
        objects = kustomize(component, into=objects)
    for entry in k.get("patches", []):
        objects = patched(folder, entry, objects)
    ids = [(o["kind"], o["metadata"]["name"]) for _, o in objects]
    assert len(ids) == len(set(ids)), f"{folder}: an object twice"
    return objects


def object_index(objects: Objects, kind: str, name: str) -> int:
    found = [i for i, (_, o) in enumerate(objects)
             if o["kind"] == kind and o["metadata"].get("name") == name]
    assert len(found) == 1, f"patch target {kind}/{name}: {len(found)} objects"
    return found[0]


def patched(folder: Path, entry: dict, objects: Objects) -> Objects:
    text = (folder / entry["path"]).read_text() if "path" in entry else entry["patch"]
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    objects = list(objects)
    if len(docs) == 1 and isinstance(docs[0], list):  # JSON 6902 operations
        target = entry["target"]
        i = object_index(objects, target["kind"], target["name"])
        objects[i] = (objects[i][0], json_patch(objects[i][1], docs[0]))
        return objects
    for doc in docs:  # strategic merge
        i = object_index(objects, doc["kind"], doc["metadata"]["name"])
        if doc.get("$patch") == "delete":
            del objects[i]
        else:
            objects[i] = (objects[i][0], merge(objects[i][1], doc))
    return objects


def merge(base, patch):
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(base.get(key), list):
            out[key] = merge_list(base[key], value, MERGE_KEYS[key])
        else:
            out[key] = merge(base.get(key), value)
    return out


def merge_list(base: list, patch: list, key: str) -> list:
    """kustomize's order: the patch's entries first (merged into the base's), then the
    base's others. So a patched env entry moves up, past the variables it refers to."""
    by_key = {item[key]: item for item in base}
    named = {item[key] for item in patch}
    return ([merge(by_key.get(item[key], {}), item) for item in patch]
            + [item for item in base if item[key] not in named])


def json_patch(obj: dict, operations: list[dict]) -> dict:
    obj = copy.deepcopy(obj)
    for op in operations:
        *parents, last = [p.replace("~1", "/").replace("~0", "~")
                          for p in op["path"].lstrip("/").split("/")]
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if op["op"] == "remove":
                del node[index]
            elif op["op"] == "add":
                node.insert(index, op["value"])
            else:
                node[index] = op["value"]
        elif op["op"] == "remove":
            del node[last]
        else:
            assert op["op"] in ("add", "replace"), op
            node[last] = op["value"]
    return obj


def component_folders() -> list[Path]:
    return sorted(p.parent for p in K8S.rglob("kustomization.yaml")
                  if kustomization(p.parent)["kind"] == "Component")


def component_objects(component: Path) -> Objects:
    """The base's kustomization with the component, plus the component's on-demand Jobs
    and the example Secret (the real one is created by hand)."""
    rel = component.relative_to(K8S).as_posix()
    objects = [(f"{where} [+{rel}]", o) for where, o in kustomize(K8S, [component])]
    for path in sorted(component.glob("*.yaml")):
        objects += [(f"{rel}/{path.name} [+{rel}]", d) for d in yaml_docs(path)
                    if "generateName" in d.get("metadata", {})]
    return objects + [(w, o) for w, o in k8s_objects() if o["kind"] == "Secret"]


def by_kind(kind: str, objects: Objects | None = None) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for _, o in (OBJECTS if objects is None else objects)
            if o["kind"] == kind}


def configmaps(objects: Objects | None = None) -> dict[str, dict[str, str]]:
    return {name: o.get("data", {}) for name, o in by_kind("ConfigMap", objects).items()}


def secrets(objects: Objects | None = None) -> dict[str, dict[str, str]]:
    """Secrets as the cluster would see them; the example stands in for the real one."""
    out = {}
    for name, o in by_kind("Secret", objects).items():
        data = {k: base64.b64decode(v).decode() for k, v in o.get("data", {}).items()}
        out[name] = {**data, **o.get("stringData", {})}
    return out


def pod_spec(obj: dict) -> dict | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec")


def pod_labels(obj: dict) -> dict[str, str]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("metadata", {}).get("labels", {})


K8S_VAR = re.compile(r"\$\$|\$\((?P<name>[A-Za-z_][\w.-]*)\)")


def expand(text: str, env: dict[str, str], unresolved: list[str]) -> str:
    """Kubernetes' $(VAR) expansion in env values, command and args."""

    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group("name") not in env:
            unresolved.append(m.group("name"))
            return m.group(0)
        return env[m.group("name")]

    return K8S_VAR.sub(one, text)


@dataclass
class K8sContainer:
    label: str
    obj: dict
    pod: dict
    container: dict
    objects: Objects  # everything deployed with it (base, or base + a component)
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def resolve_container(filename: str, obj: dict, pod: dict, c: dict,
                      objects: Objects) -> K8sContainer:
    cms, secs = configmaps(objects), secrets(objects)
    label = f"k8s/{filename}:{obj['kind']}/{obj['metadata'].get('name') or obj['metadata']['generateName']}:{c['name']}"  # noqa: E501
    out = K8sContainer(label, obj, pod, c, objects)

    def lookup(kind: str, store: dict, ref: dict) -> str:
        assert ref["name"] in store, f"{label}: {kind} {ref['name']!r} is not in deploy/k8s/"
        assert ref["key"] in store[ref["name"]], f"{label}: no key {ref['key']!r} in {ref['name']}"
        return str(store[ref["name"]][ref["key"]])

    for src in c.get("envFrom", []):
        kind, store = ("configMapRef", cms) if "configMapRef" in src else ("secretRef", secs)
        name = src[kind]["name"]
        assert name in store, f"{label}: envFrom {name!r} is not in deploy/k8s/"
        out.env.update({src.get("prefix", "") + k: str(v) for k, v in store[name].items()})
    for var in c.get("env", []):
        source = var.get("valueFrom", {})
        if "value" in var:
            out.env[var["name"]] = expand(str(var["value"]), out.env, out.unresolved)
        elif "configMapKeyRef" in source:
            out.env[var["name"]] = lookup("ConfigMap", cms, source["configMapKeyRef"])
        elif "secretKeyRef" in source:
            out.env[var["name"]] = lookup("Secret", secs, source["secretKeyRef"])
        else:  # fieldRef, resourceFieldRef: known only in the cluster
            out.env[var["name"]] = f"<{var['name']}>"
    command = c.get("command")
    args = c.get("args")
    if is_our_image(c["image"]):
        argv = image_argv(command, args)
    else:
        argv = (command or []) + (args or [])
    out.argv = [expand(str(a), out.env, out.unresolved) for a in argv]
    return out


def k8s_containers() -> list[K8sContainer]:
    """Every container of the base and of each component's variant."""
    out = []
    for objects in VARIANTS.values():
        for filename, obj in objects:
            pod = pod_spec(obj)
            for c in (pod or {}).get("initContainers", []) + (pod or {}).get("containers", []):
                out.append(resolve_container(filename, obj, pod, c, objects))
    return out


def mounted_claim(c: K8sContainer, path: str) -> str | None:
    """The PersistentVolumeClaim a container has mounted at `path`."""
    for m in c.container.get("volumeMounts", []):
        if m["mountPath"] == path:
            for v in c.pod.get("volumes", []):
                if v["name"] == m["name"] and "persistentVolumeClaim" in v:
                    return v["persistentVolumeClaim"]["claimName"]
    return None


# --- the commands -------------------------------------------------------------------


@dataclass
class Command:
    label: str
    argv: list[str]  # the linkindex arguments, without "linkindex"
    env: dict[str, str | None]  # what the manifest puts in the environment


def container_commands() -> list[Command]:
    commands = [Command("Dockerfile: ENTRYPOINT + CMD", image_argv(None, None)[1:], image_env())]
    for name, service in compose(compose_env())["services"].items():
        argv = service_argv(service)
        if runs_linkindex(argv):
            ours = "build" in service or is_our_image(service.get("image", ""))
            env = {**(image_env() if ours else {}), **service_env(service)}
            commands.append(Command(f"docker-compose.yml: {name}", argv[1:], env))
    for c in CONTAINERS:
        env = {**image_env(), **c.env}
        if runs_linkindex(c.argv):
            commands.append(Command(c.label, c.argv[1:], env))
        for probe, argv in exec_probes(c).items():
            if runs_linkindex(argv):
                commands.append(Command(f"{c.label}:{probe}", argv[1:], env))
    return commands


def exec_probes(c: K8sContainer) -> dict[str, list[str]]:
    """probe name → the command it runs in the container (Kubernetes expands no $(VAR)
    in a probe's command, so there must be none)."""
    out = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = c.container.get(probe, {}).get("exec", {}).get("command")
        if command:
            assert not any(K8S_VAR.search(a) for a in command), f"{c.label}: {probe}"
            out[probe] = [str(a) for a in command]
    return out


def parse(argv: list[str], env: dict[str, str | None], monkeypatch) -> object:
    """Parse as `linkindex` would in that environment; a clear failure if it refuses."""
    for name in list(os.environ):
        if name.startswith("LINKINDEX_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("LINKINDEX_") and value is not None:
            monkeypatch.setenv(name, value)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build_parser().parse_args(argv)
        except SystemExit as exc:
            code = exc.code
    if code == 0:  # --help
        return None
    lines = err.getvalue().strip().splitlines() or ["(no message)"]
    pytest.fail(f"linkindex {shlex.join(argv)}\n  → {lines[-1]}", pytrace=False)


def doc_commands() -> list[Command]:
    """Every `linkindex …` command line in the READMEs' shell code blocks."""
    commands = []
    for doc in DOCS:
        if not doc.exists():
            continue
        in_block, lang = False, ""
        lines = doc.read_text().splitlines()
        text = []
        for number, line in enumerate(lines, 1):
            if line.lstrip().startswith("```"):
                in_block, lang = not in_block, line.strip()[3:].strip()
                continue
            if in_block and lang in ("", "sh", "bash", "shell", "console", "text"):
                text.append((number, line))
        joined: list[tuple[int, str]] = []
        for number, line in text:
            if joined and joined[-1][1].endswith("\\"):
                joined[-1] = (joined[-1][0], joined[-1][1][:-1] + " " + line)
            else:
                joined.append((number, line))
        for number, line in joined:
            for argv in linkindex_invocations(line.removeprefix("$ ")):
                commands.append(Command(f"{doc.relative_to(REPO)}:{number}", argv, {}))
    return commands


OPERATORS = {"&&", "||", ";", "|", "&", "(", ")"}
PREFIXES = {"do", "then", "else", "exec", "nohup", "time", "!"}


def linkindex_invocations(line: str) -> list[list[str]]:
    """The argument lists of `linkindex` where it stands in command position (also after
    `kubectl exec … --`), up to the next shell operator or redirection."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return []
    found = []
    at_command = True
    for i, token in enumerate(tokens):
        if token in OPERATORS or token == "--":
            at_command = True
            continue
        if at_command and (token in PREFIXES or re.fullmatch(r"[A-Za-z_]\w*=\S*", token)):
            continue  # do linkindex …, VAR=value linkindex …
        if at_command and Path(token).name == "linkindex":
            argv = []
            for t in tokens[i + 1 :]:
                if t in OPERATORS or t[:1] in "<>":
                    break
                argv.append(t)
            if argv and argv[-1].isdigit() and len(tokens) > i + 1 + len(argv):
                nxt = tokens[i + 1 + len(argv)]
                if nxt[:1] in "<>":  # 2>file
                    argv.pop()
            found.append(argv)
        at_command = False
    return found


# --- every LINKINDEX_* variable a manifest sets is one the code reads ---------------


@functools.cache
def environment_reads() -> set[str]:
    """Names the installed packages read from os.environ / os.getenv, through a string
    literal or a module constant holding one (REDIS_URL_ENV = "LINKINDEX_REDIS_URL")."""
    packages = installed_packages()
    constants: dict[str, str] = {}
    keys: list[ast.expr] = []

    def is_environ(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id == "environ") or (
            isinstance(node, ast.Attribute) and node.attr == "environ")

    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(
                        node.value, ast.Constant) and isinstance(node.value.value, str):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            constants[t.id] = node.value.value
                elif isinstance(node, ast.Call) and node.args:
                    f = node.func
                    if (isinstance(f, ast.Attribute) and f.attr in ("get", "pop", "setdefault")
                            and is_environ(f.value)) or (
                            isinstance(f, ast.Name | ast.Attribute)
                            and getattr(f, "id", getattr(f, "attr", None)) == "getenv"):
                        keys.append(node.args[0])
                elif isinstance(node, ast.Subscript) and is_environ(node.value):
                    keys.append(node.slice)
                elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
                    keys.append(node.left)
    names = set()
    for key in keys:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
        elif isinstance(key, ast.Name) and key.id in constants:
            names.add(constants[key.id])
        elif isinstance(key, ast.Attribute) and key.attr in constants:
            names.add(constants[key.attr])
    return names


def manifest_variables() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in image_env():
        found.setdefault(name, []).append("Dockerfile")
    for service_name, service in compose(compose_env())["services"].items():
        for name in service_env(service):
            found.setdefault(name, []).append(f"docker-compose.yml: {service_name}")
    for c in CONTAINERS:
        for name in c.env:
            found.setdefault(name, []).append(c.label)
    return {k: v for k, v in sorted(found.items()) if k.startswith("LINKINDEX_")}


# --- loaded once, for the parametrized tests ---------------------------------------

ENTRYPOINT: list[str] = []
CMD: list[str] = []
OBJECTS: Objects = []
VARIANTS: dict[str, Objects] = {}  # "" (the base) or a component's folder → its objects
CONTAINERS: list[K8sContainer] = []
COMMANDS: list[Command] = []
MANIFEST_VARIABLES: dict[str, list[str]] = {}
LOAD_ERROR: str | None = None
try:
    ENTRYPOINT, CMD = exec_form("ENTRYPOINT"), exec_form("CMD")
    OBJECTS = k8s_objects()
    VARIANTS = {"": OBJECTS} | {c.relative_to(K8S).as_posix(): component_objects(c)
                                for c in component_folders()}
    CONTAINERS = k8s_containers()
    COMMANDS = container_commands()
    MANIFEST_VARIABLES = manifest_variables()
except Exception as exc:  # reported by test_deploy_files_load, not as a collection error
    LOAD_ERROR = f"{type(exc).__name__}: {exc}"
DOC_COMMANDS = doc_commands()


# --- the tests ----------------------------------------------------------------------


def test_deploy_files_load() -> None:
    assert LOAD_ERROR is None, LOAD_ERROR


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_file_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path.name} holds no document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
        if K8S in path.parents:
            assert doc.get("apiVersion") and doc.get("kind"), f"{path.name}: no apiVersion/kind"
            name = doc.get("metadata", {}).get("name") or doc.get("metadata", {}).get(
                "generateName")
            assert name or doc["kind"] in ("Kustomization", "Component"), (
                f"{path.name}: {doc['kind']} unnamed")
            assert "namespace" not in doc.get("metadata", {}), f"{path.name}: sets a namespace"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.label)
def test_container_command_parses(command: Command, monkeypatch) -> None:
    parse(command.argv, command.env, monkeypatch)


@pytest.mark.parametrize("command", DOC_COMMANDS, ids=lambda c: c.label)
def test_documented_command_parses(command: Command, monkeypatch) -> None:
    parse(command.argv, command.env, monkeypatch)


def test_commands_cover_the_deployment() -> None:
    """The parse tests above are not vacuous: they saw the workers, a submit and a build
    in both the compose file and the Kubernetes manifests."""
    for where in ("docker-compose.yml", "k8s/"):
        seen = {tuple(c.argv[:2]) if c.argv[:1] == ["job"] else tuple(c.argv[:1])
                for c in COMMANDS if c.label.startswith(where)}
        assert {("worker",), ("job", "submit"), ("build",)} <= seen, (where, seen)
    assert any(c.argv[:2] == ["job", "submit"] for c in DOC_COMMANDS)


def test_unresolved_variables() -> None:
    for c in CONTAINERS:
        assert not c.unresolved, f"{c.label}: $({c.unresolved[0]}) is never defined"
    compose(compose_env())  # raises on a variable with neither a value nor a default


def test_dockerfile_entrypoint_and_user() -> None:
    assert ENTRYPOINT == ["linkindex"]
    assert CMD == ["worker", "--stay"]
    users = [rest for name, rest in final_stage() if name == "USER"]
    assert users, "the image runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the image runs as {users[-1]}"


def installed_packages() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [p.rstrip("*").rstrip(".") for p in
            pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]


def undeclared_data_files(package_data: dict[str, list[str]]) -> list[str]:
    """Files in the packages that are neither Python nor matched by package_data."""
    missing = []
    for package in installed_packages():
        for path in sorted((REPO / package).rglob("*")):
            rel = path.relative_to(REPO)
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in rel.parts:
                continue
            owner = next(p for p in rel.parents if (REPO / p / "__init__.py").exists())
            patterns = package_data.get(".".join(owner.parts), []) + package_data.get("*", [])
            inside = path.relative_to(REPO / owner).as_posix()
            if not any(fnmatch.fnmatch(inside, pattern) for pattern in patterns):
                missing.append(rel.as_posix())
    return missing


def test_image_install_carries_every_data_file() -> None:
    """The image installs a wheel, not the work tree: every non-Python file inside the
    packages (SQL macros, Lua scripts, …) must be declared package data, or the worker
    in the container cannot find it."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"].get("package-data", {})
    missing = undeclared_data_files(package_data)
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_dockerignore_keeps_out_local_state_and_secrets() -> None:
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    missing = {".git", ".venv", "data", "linkindex-demo", "**/.env"} - patterns
    assert not missing, f".dockerignore lacks {sorted(missing)}"


def test_compose_refuses_to_start_without_a_password() -> None:
    env = dotenv(DEPLOY / ".env.example")
    assert env.get("REDIS_PASSWORD") == "", ".env.example must not ship a password"
    with pytest.raises(ValueError, match="REDIS_PASSWORD"):
        compose(env)


def redis_options(argv: list[str]) -> dict[str, str]:
    start = next(i for i, a in enumerate(argv) if Path(a).name == "redis-server")
    rest = argv[start + 1 :]
    return {rest[i].removeprefix("--"): rest[i + 1] for i in range(0, len(rest) - 1, 2)}


def check_redis(argv: list[str], url: str, where: str) -> None:
    options = redis_options(argv)
    assert options.get("appendonly") == "yes", f"{where}: Redis without appendonly"
    assert options.get("maxmemory-policy", "noeviction") == "noeviction", where
    assert options.get("requirepass"), f"{where}: Redis without a password"
    assert urlsplit(url).password == options["requirepass"], f"{where}: URL and Redis disagree"


def test_compose_wiring() -> None:
    services = compose(compose_env())["services"]
    volumes = compose(compose_env()).get("volumes", {})
    workers = {n: s for n, s in services.items() if service_argv(s)[1:2] == ["worker"]}
    assert workers
    for name, service in services.items():
        env = service_env(service)
        if url := env.get("LINKINDEX_REDIS_URL"):
            parts = urlsplit(url)
            assert parts.hostname in services, f"{name}: no service {parts.hostname!r}"
            check_redis(service_argv(services[parts.hostname]), url, f"compose {name}")
            depends = service.get("depends_on", {})
            assert parts.hostname in depends, f"{name} does not wait for Redis"
    build = [s for s in services.values() if service_argv(s)[1:2] == ["build"]]
    assert build
    for name, worker in workers.items():
        assert parse_duration(worker.get("stop_grace_period", "10s")) >= 60, name
        argv = service_argv(worker)
        assert "--stay" in argv and "--job" not in argv, f"{name}: {argv}"
        # the workers' DATA is the volume the build reads
        data = {**image_env(), **service_env(worker)}["LINKINDEX_DATA"]
        worker_volume = volume_mounts(worker).get(data)
        assert worker_volume in volumes, f"{name}: DATA {data} is not on a named volume"
        for b in build:
            b_data = {**image_env(), **service_env(b)}["LINKINDEX_DATA"]
            assert volume_mounts(b).get(b_data) == worker_volume


def test_k8s_redis_wiring() -> None:
    users = [c for c in CONTAINERS if "LINKINDEX_REDIS_URL" in c.env]
    assert users
    for c in users:
        services = by_kind("Service", c.objects)
        url = urlsplit(c.env["LINKINDEX_REDIS_URL"])
        service = services.get(url.hostname)
        assert service, f"{c.label}: no Service {url.hostname!r}"
        port = next((p for p in service["spec"]["ports"] if p["port"] == (url.port or 6379)), None)
        assert port, f"{c.label}: Service {url.hostname} has no port {url.port}"
        selector = service["spec"]["selector"]
        backends = [r for r in CONTAINERS
                    if r.objects is c.objects and r.obj["kind"] not in ("Job", "CronJob")
                    and selector.items() <= r.obj["spec"]["template"]["metadata"]["labels"].items()
                    and any(p.get("name") == port["targetPort"]
                            or p["containerPort"] == port["targetPort"]
                            for p in r.container.get("ports", []))]
        assert len(backends) == 1, f"{c.label}: Service {url.hostname} selects {len(backends)}"
        check_redis(backends[0].argv, c.env["LINKINDEX_REDIS_URL"], c.label)
        assert not backends[0].unresolved


def test_k8s_workers() -> None:
    workers = [c for c in CONTAINERS if c.argv[1:2] == ["worker"]]
    assert workers
    builds = [c for c in CONTAINERS if c.argv[1:2] == ["build"]]
    assert builds
    for c in workers:
        claims = by_kind("PersistentVolumeClaim", c.objects)
        assert c.obj["kind"] == "Deployment", c.label
        grace = c.pod.get("terminationGracePeriodSeconds", 30)
        assert grace >= 60, f"{c.label}: terminationGracePeriodSeconds {grace} < 60"
        # a Deployment restarts a pod that exits, so its workers must wait for new jobs
        assert "--stay" in c.argv and "--job" not in c.argv, c.label
        cpu = str(c.container["resources"]["requests"]["cpu"])
        assert cpu in ("1", "1000m"), f"{c.label}: requests {cpu} CPU"
        claim = mounted_claim(c, c.env["LINKINDEX_DATA"])
        assert claim in claims, f"{c.label}: DATA {c.env['LINKINDEX_DATA']} is not on a claim"
        assert "ReadWriteMany" in claims[claim]["spec"]["accessModes"], claim
        for b in builds:
            assert mounted_claim(b, b.env["LINKINDEX_DATA"]) == claim, b.label


def test_k8s_volumes_resolve() -> None:
    for c in CONTAINERS:
        cms, claims = configmaps(c.objects), by_kind("PersistentVolumeClaim", c.objects)
        templates = {t["metadata"]["name"] for t in c.obj["spec"].get("volumeClaimTemplates", [])}
        volumes = {v["name"]: v for v in c.pod.get("volumes", [])}
        for m in c.container.get("volumeMounts", []):
            assert m["name"] in volumes or m["name"] in templates, f"{c.label}: {m['name']}"
        for v in volumes.values():
            if "configMap" in v:
                assert v["configMap"]["name"] in cms, f"{c.label}: {v['configMap']['name']}"
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                assert claim in claims, f"{c.label}: no claim {claim}"


KUSTOMIZE_FOLDERS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))


@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kustomization_lists_the_standing_manifests(folder: Path) -> None:
    """Every manifest beside a kustomization (or component) is in it, as a resource or a
    patch, unless it is on demand (generateName: kubectl create -f) or an example."""
    k = kustomization(folder)
    assert k["kind"] in ("Kustomization", "Component")
    listed = {*k.get("resources", []), *(p["path"] for p in k.get("patches", []) if "path" in p)}
    for name in listed:
        assert (folder / name).exists(), f"{folder.name}/kustomization.yaml lists missing {name}"
    for name in k.get("components", []):
        assert kustomization(folder / name)["kind"] == "Component", name
    for path in folder.glob("*.yaml"):
        if path.name in listed or path.name == "kustomization.yaml":
            continue
        on_demand = all("generateName" in d["metadata"] for d in yaml_docs(path))
        assert on_demand or path.name.endswith(".example.yaml"), f"{path.name} is not listed"
    kustomize(K8S, [folder] if k["kind"] == "Component" else [])  # renders


def kubectl_kustomize(folder: Path, components: list[Path], tmp: Path) -> list[dict]:
    """The real kustomize's output for a kustomization of the folder and components
    (paths relative to it: kustomize refuses absolute ones)."""
    (tmp / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(folder, tmp)],
        "components": [os.path.relpath(c, tmp) for c in components]}))
    proc = subprocess.run(["kubectl", "kustomize", str(tmp)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (its kustomize)")
@pytest.mark.parametrize("component", [None, *component_folders()],
                         ids=lambda p: "base" if p is None else str(p.relative_to(K8S)))
def test_render_matches_kubectl_kustomize(component: Path | None, tmp_path: Path) -> None:
    """The renderer the tests above read the variants with makes what kustomize makes:
    same objects, same fields, same order of env entries (which decides what $(VAR)
    can see)."""
    components = [] if component is None else [component]
    ours = {(o["kind"], o["metadata"]["name"]): o for _, o in kustomize(K8S, components)}
    theirs = {(o["kind"], o["metadata"]["name"]): o
              for o in kubectl_kustomize(K8S, components, tmp_path)}
    assert sorted(ours) == sorted(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{key}: kustomize makes it differently"


@pytest.mark.parametrize("name", MANIFEST_VARIABLES)
def test_linkindex_variable_is_read_by_the_code(name: str) -> None:
    assert name in environment_reads(), (
        f"{name} is set by {', '.join(MANIFEST_VARIABLES[name])}, but no code reads it from "
        "the environment (LINKINDEX_* Scrapy settings are not environment variables: "
        "pass them as -s NAME=VALUE)"
    )


def test_environment_reads_finds_known_reads() -> None:
    """The scanner itself: LINKINDEX_DATA (cli.py) and LINKINDEX_DEBUG are real reads,
    LINKINDEX_MAX_PAGES is only a Scrapy setting."""
    reads = environment_reads()
    assert {"LINKINDEX_DATA", "LINKINDEX_DEBUG"} <= reads
    assert "LINKINDEX_MAX_PAGES" not in reads


# --- hardening, probes, Redis memory, budgets, metrics, autoscaling, Redis Cluster ---


def image_home() -> str:
    """The image's working directory, its user's HOME (useradd --home-dir)."""
    return [rest for name, rest in final_stage() if name == "WORKDIR"][-1]


def writable_mounts(c: K8sContainer) -> list[str]:
    """Mount paths of volumes the container may write: emptyDirs and claims."""
    volumes = {v["name"]: v for v in c.pod.get("volumes", [])}
    templates = {t["metadata"]["name"] for t in c.obj["spec"].get("volumeClaimTemplates", [])}
    return [m["mountPath"] for m in c.container.get("volumeMounts", [])
            if not m.get("readOnly") and (m["name"] in templates or any(
                k in volumes.get(m["name"], {}) for k in ("emptyDir", "persistentVolumeClaim")))]


def on_writable(c: K8sContainer, path: str) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in writable_mounts(c))


def is_redis(c: K8sContainer) -> bool:
    return any(Path(a).name == "redis-server" for a in c.argv)


def test_k8s_read_only_root_filesystem() -> None:
    """Every container's image is read-only; what each writes is on a volume: /tmp, the
    caches under HOME (object-store spool and mirror, DuckDB's spill in the working
    directory), DATA, the health file, Redis' append-only file and nodes.conf."""
    assert CONTAINERS
    for c in CONTAINERS:
        security = c.container.get("securityContext", {})
        assert security.get("readOnlyRootFilesystem") is True, f"{c.label}: root is writable"
    ours = [c for c in CONTAINERS if is_our_image(c.container["image"])]
    assert {c.argv[1] for c in ours} >= {"worker", "build", "monitor", "job"}
    for c in ours:
        assert on_writable(c, "/tmp"), f"{c.label}: no writable /tmp"
        if c.argv[1] in ("worker", "build", "monitor"):
            assert on_writable(c, image_home()), f"{c.label}: HOME {image_home()} read-only"
            assert on_writable(c, c.env.get("LINKINDEX_DATA") or image_env()["LINKINDEX_DATA"])
        if "LINKINDEX_HEALTH_FILE" in c.env:
            assert on_writable(c, c.env["LINKINDEX_HEALTH_FILE"]), c.label
    for c in filter(is_redis, CONTAINERS):
        options = redis_options(c.argv)
        assert on_writable(c, "/data"), c.label  # the image's working directory: the AOF
        if "cluster-config-file" in options:
            assert on_writable(c, options["cluster-config-file"]), c.label


def test_k8s_worker_probes(monkeypatch) -> None:
    """Startup, readiness and liveness run `linkindex probe` on the file the worker
    touches, readiness tighter than liveness, liveness loose enough that a Redis restart
    with its back-off restarts no worker."""
    from crawler.frontier import defaults

    workers = [c for c in CONTAINERS if c.argv[1:2] == ["worker"]]
    assert workers
    for c in workers:
        env = {**image_env(), **c.env}
        health = parse(c.argv[1:], env, monkeypatch).health_file or c.env.get(
            "LINKINDEX_HEALTH_FILE")
        assert health, f"{c.label}: the worker touches no health file"
        probes = exec_probes(c)
        assert set(probes) == {"startupProbe", "readinessProbe", "livenessProbe"}, c.label
        max_age = {}
        for name, argv in probes.items():
            assert runs_linkindex(argv) and argv[1] == "probe", f"{c.label}: {name} {argv}"
            args = parse(argv[1:], env, monkeypatch)
            assert args.health_file == health, f"{c.label}: {name} reads another file"
            max_age[name] = args.max_age
            # a Python start, not a network call; the default 1 s is too tight
            assert c.container[name].get("timeoutSeconds", 1) >= 3, f"{c.label}: {name}"
        assert max_age["readinessProbe"] >= 5 * defaults.HEARTBEAT_SECONDS, c.label
        assert max_age["readinessProbe"] <= max_age["livenessProbe"], c.label
        assert max_age["livenessProbe"] >= 10 * defaults.BACKOFF_MAX_SECONDS, c.label
        startup = c.container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, c.label


REDIS_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3,
               "gb": 1024**3}
K8S_UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "Ki": 1024,
             "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def redis_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([a-zA-Z]*)", text).groups()
    return int(number) * REDIS_UNITS[unit.lower()]


def k8s_bytes(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([a-zA-Z]*)", str(text)).groups()
    return int(number) * K8S_UNITS[unit]


def test_k8s_redis_maxmemory_below_its_memory_limit() -> None:
    """noeviction with a maxmemory under the container limit: a full Redis refuses writes
    (workers say so and stop), it is never OOM-killed into an append-only-file replay
    loop. The rest of the limit is headroom for the rewrite's fork and client buffers."""
    redis = [c for c in CONTAINERS if is_redis(c)]
    assert {c.obj["metadata"]["name"] for c in redis} >= {"linkindex-redis",
                                                          "linkindex-redis-cluster"}
    for c in redis:
        options = redis_options(c.argv)
        assert options.get("maxmemory-policy") == "noeviction", c.label
        assert "maxmemory" in options, f"{c.label}: no maxmemory"
        limit = k8s_bytes(c.container["resources"]["limits"]["memory"])
        assert 0 < redis_bytes(options["maxmemory"]) <= 0.8 * limit, (
            f"{c.label}: maxmemory {options['maxmemory']} leaves no headroom in {limit:,} B")


def selects(selector: dict, labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_k8s_disruption_budgets() -> None:
    """Workers and Redis each have one budget: workers may be drained a few at a time, a
    single Redis not at all (a drain waits for you), a Redis Cluster one node at a time."""
    for variant, objects in VARIANTS.items():
        budgets = by_kind("PodDisruptionBudget", objects)
        guarded = [o for o in [*by_kind("Deployment", objects).values(),
                               *by_kind("StatefulSet", objects).values()]
                   if o["metadata"]["name"] != "linkindex-metrics"]
        assert guarded
        for obj in guarded:
            name = obj["metadata"]["name"]
            mine = [b["spec"] for b in budgets.values()
                    if selects(b["spec"]["selector"], pod_labels(obj))]
            assert len(mine) == 1, f"{variant or 'base'}: {name} has {len(mine)} budgets"
            replicas = obj["spec"].get("replicas", 1)
            if obj["kind"] == "Deployment":  # workers: never block a drain
                assert mine[0].get("maxUnavailable", 1) not in (0, "0%"), name
            elif replicas == 1:
                assert (mine[0].get("maxUnavailable") == 0
                        or mine[0].get("minAvailable", 0) >= 1), name
            else:
                assert mine[0].get("maxUnavailable") == 1, name


def admits(policy: dict, port: int, labels: dict[str, str] | None = None,
           namespace: str | None = None) -> bool:
    """Does this NetworkPolicy admit a pod (labels, same namespace) or any pod of a
    namespace on `port`?"""
    for rule in policy["spec"].get("ingress", []):
        if rule.get("ports") and port not in [p["port"] for p in rule["ports"]]:
            continue
        for peer in rule.get("from", []):
            if labels is not None and "podSelector" in peer and "namespaceSelector" not in peer:
                if selects(peer["podSelector"], labels):
                    return True
            if namespace is not None and "namespaceSelector" in peer and "podSelector" not in peer:
                wanted = peer["namespaceSelector"].get("matchLabels", {})
                if wanted == {"kubernetes.io/metadata.name": namespace}:
                    return True
    return False


def test_k8s_network_policies_admit_the_clients() -> None:
    """Every pod with a Redis URL may reach the Redis pods; KEDA (namespace keda) and the
    linkindex pods may reach the metrics server."""
    for c in CONTAINERS:
        if "LINKINDEX_REDIS_URL" not in c.env:
            continue
        url = urlsplit(c.env["LINKINDEX_REDIS_URL"])
        service = by_kind("Service", c.objects)[url.hostname]
        policies = [p for p in by_kind("NetworkPolicy", c.objects).values()
                    if p["spec"]["podSelector"] == {"matchLabels": service["spec"]["selector"]}]
        assert policies, f"no NetworkPolicy guards {url.hostname}"
        assert any(admits(p, url.port or 6379, pod_labels(c.obj)) for p in policies), c.label
    for variant, objects in VARIANTS.items():
        metrics = [c for c in CONTAINERS
                   if c.objects is objects and c.argv[1:3] == ["job", "metrics"]]
        assert len(metrics) == 1, variant
        port = metrics[0].container["ports"][0]["containerPort"]
        policies = [p for p in by_kind("NetworkPolicy", objects).values()
                    if selects(p["spec"]["podSelector"], pod_labels(metrics[0].obj))]
        assert any(admits(p, port, namespace="keda") for p in policies), variant


def json_path(doc: object, path: str) -> object:
    """KEDA's valueLocation (GJSON), dotted keys only."""
    for key in path.split("."):
        assert isinstance(doc, dict) and key in doc, f"{path}: no {key!r}"
        doc = doc[key]
    return doc


def test_k8s_metrics_server_and_autoscaler(monkeypatch) -> None:
    """The metrics Deployment serves on the port its Service and probes name; KEDA's
    triggers read that Service's /metrics.json at keys the code writes, and scale the
    worker Deployment, whose replica count the component leaves to KEDA."""
    from linkindex.metrics_cmd import metrics_json

    for variant, objects in VARIANTS.items():
        (c,) = [c for c in CONTAINERS if c.objects is objects and c.argv[1:3] == ["job", "metrics"]]
        args = parse(c.argv[1:], {**image_env(), **c.env}, monkeypatch)
        assert args.host == "0.0.0.0", f"{c.label}: reachable from its own pod only"
        (port,) = [p for p in c.container["ports"] if p["containerPort"] == args.port]
        for probe in ("readinessProbe", "livenessProbe"):
            assert c.container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
        services = [s for s in by_kind("Service", objects).values()
                    if s["spec"].get("selector") and selects(
                        {"matchLabels": s["spec"]["selector"]}, pod_labels(c.obj))]
        assert len(services) == 1 and services[0]["spec"]["ports"][0]["targetPort"] in (
            port["name"], port["containerPort"]), variant
    objects = VARIANTS["autoscale"]
    service = by_kind("Service", objects)["linkindex-metrics"]
    (scaled,) = by_kind("ScaledObject", objects).values()
    target = by_kind("Deployment", objects)[scaled["spec"]["scaleTargetRef"]["name"]]
    assert "replicas" not in target["spec"], "kubectl apply -k would undo KEDA's count"
    assert [c for c in CONTAINERS if c.obj is target and c.argv[1:2] == ["worker"]]
    assert 0 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    sample = metrics_json([])
    locations = set()
    for trigger in scaled["spec"]["triggers"]:
        assert trigger["type"] == "metrics-api"
        meta = trigger["metadata"]
        url = urlsplit(meta["url"])
        assert url.hostname.split(".")[0] == service["metadata"]["name"], meta["url"]
        assert url.port == service["spec"]["ports"][0]["port"] and url.path == "/metrics.json"
        assert isinstance(json_path(sample, meta["valueLocation"]), int)
        assert float(meta["targetValue"]) > 0
        locations.add(meta["valueLocation"])
    assert "queued_total" in locations


def test_k8s_redis_cluster_component(monkeypatch) -> None:
    """Six nodes, three masters with a replica each, formed by the create Job; the single
    Redis gone; every client on redis+cluster://; jobs submitted in several shards per
    master; its submit Job the base's but for the URL and --shards."""
    objects = VARIANTS["redis-cluster"]
    assert "linkindex-redis" not in by_kind("StatefulSet", objects)
    assert "linkindex-redis" not in by_kind("Service", objects)
    (sts,) = by_kind("StatefulSet", objects).values()
    service = by_kind("Service", objects)[sts["spec"]["serviceName"]]
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    (node,) = [c for c in CONTAINERS if c.obj is sts]
    options = redis_options(node.argv)
    assert options["cluster-enabled"] == "yes"
    assert options["masterauth"] == options["requirepass"]
    (create,) = [c for c in CONTAINERS if c.obj["kind"] == "Job" and c.objects is objects
                 and not is_our_image(c.container["image"])]
    assert create.env["SERVICE"] == service["metadata"]["name"]
    assert int(create.env["NODES"]) == sts["spec"]["replicas"] == 6
    script = " ".join(create.argv)
    assert "redis-cli --cluster create" in script
    assert '--cluster-replicas "$REPLICAS_PER_MASTER"' in script
    masters = sts["spec"]["replicas"] // (1 + int(create.env["REPLICAS_PER_MASTER"]))
    assert masters == 3
    users = [c for c in CONTAINERS if c.objects is objects and "LINKINDEX_REDIS_URL" in c.env]
    assert {c.obj["metadata"].get("name", "") for c in users} >= {
        "linkindex-worker", "linkindex-metrics", "linkindex-monitor"}
    for c in users:
        url = urlsplit(c.env["LINKINDEX_REDIS_URL"])
        assert (url.scheme, url.hostname, url.path) == (
            "redis+cluster", service["metadata"]["name"], ""), c.label
    (submit,) = [c for c in users if c.argv[1:3] == ["job", "submit"]]
    shards = parse(submit.argv[1:], {**image_env(), **submit.env}, monkeypatch).shards
    assert shards >= 2 * masters, f"{submit.label}: {shards} shards for {masters} masters"
    # the same Job as the base's otherwise, so the two cannot drift apart
    base = next(o for w, o in OBJECTS if w == "submit-job.yaml")
    mine = submit.obj
    expected = copy.deepcopy(base)
    container = expected["spec"]["template"]["spec"]["containers"][0]
    container["args"] += ["--shards", str(shards)]
    next(e for e in container["env"] if e["name"] == "LINKINDEX_REDIS_URL")["value"] = (
        next(e for e in mine["spec"]["template"]["spec"]["containers"][0]["env"]
             if e["name"] == "LINKINDEX_REDIS_URL")["value"])
    assert mine == expected
