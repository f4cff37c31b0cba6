"""The docs are executable: every code block in README.md, docs/*.md and deploy/README.md.

Each doc file is one session, its blocks run in order as a reader pastes them, in a
fresh folder where `data` is a copy of the DATA `linkindex demo` built (and `seeds.txt`
names two of the demo's sites):

- ```python blocks are executed there as written; the value of the last expression must
  not be empty;
- ```sh blocks (and indented blocks) run line by line: `linkindex …` in this process
  through `linkindex.cli.main` (words expanded by bash, as the shell would), or through
  bash when the command starts a crawl (Scrapy's reactor runs once per process) or is
  shell syntax (`for … &`, `wait`); `scrapy crawl` from the repo root; `export` through
  bash; `duckdb -init` through the duckdb package. Each must exit 0 and print what its
  command prints when it works (rows, not "(no rows)");
- ```text blocks are listings and are not run.

Made to run here: example targets (example.com, …) become real ones of the demo's data
(EXAMPLES), crawls fetch the synthetic web through its loopback proxy
(docsnippets.local_argv), and lines that cannot run here are either replaced by a local
equivalent (SUBSTITUTES) or skipped (ALLOWLIST), each with its reason. A new command
that is none of these fails `test_every_command_runs_or_is_listed` until it is classified.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from docsnippets import REPO, Block, Command, blocks, commands, doc_files, local_argv

# ---- lines that are not run, and why (exact text, trailing comment left out) ---------------

NETWORK = "downloads from the internet (tests run offline)"
DOCKER = "needs Docker and an image build or registry (tests/test_deploy.py checks the files)"
KUBE = "needs a Kubernetes cluster (tests/test_deploy.py checks the manifests)"
S3 = ("needs an S3 bucket and credentials: tests/test_s3_data.py runs each of these "
      "commands against a loopback S3 server")

ALLOWLIST: dict[str, str] = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest -q":
        "pip install from the network, then the whole test suite, which this test is part of",
    "curl -O https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-33/wat.paths.gz": NETWORK,
    # deploy/README.md
    "docker build -f deploy/Dockerfile -t linkindex:latest .": DOCKER,
    "docker run --rm linkindex:latest --help": DOCKER,
    "docker compose up -d --build": DOCKER,
    "docker compose run --rm submit": DOCKER,
    "docker compose run --rm cli": DOCKER,
    "docker compose up -d --scale worker=8": DOCKER,
    "docker compose run --rm build": DOCKER,
    "docker compose run --rm cli query referring_domains example.com": DOCKER,
    "docker compose run --rm -T cli query backlinks example.com --format csv > backlinks.csv":
        DOCKER,
    "docker build -f deploy/Dockerfile -t registry.example.com/linkindex:0.1.0 .": DOCKER,
    "docker push registry.example.com/linkindex:0.1.0": DOCKER,
    'kubectl create secret generic linkindex-redis --from-literal=password="$(openssl rand '
    '-hex 32)"': KUBE,
    "kubectl apply -k deploy/k8s": KUBE,
    "kubectl create -f deploy/k8s/submit-job.yaml": KUBE,
    "kubectl exec deploy/linkindex-worker -- linkindex job status crawl": KUBE,
    "kubectl scale deployment/linkindex-worker --replicas=16": KUBE,
    'sed "s/build-REPLACE-ME/build-$(date +%Y%m%d%H%M%S)/" deploy/k8s/build-job.yaml '
    "| kubectl create -f -": KUBE,
    "kubectl exec deploy/linkindex-worker -- linkindex query referring_domains example.com "
    "--data /data": KUBE,
    # README.md, DATA on an object store
    "export AWS_PROFILE=crawl AWS_REGION=eu-west-1": S3,
    "linkindex crawl --seeds-file seeds.txt --data s3://my-index/prod --crawl-id 2026-12 "
    "--warc": S3,
    "linkindex worker --redis redis://redis:6379/0 --data s3://my-index/prod": S3,
    "linkindex build --data s3://my-index/prod --jobs 4": S3,
    "linkindex query referring_domains example.com --data s3://my-index/prod": S3,
    "linkindex paths --data s3://my-index/prod": S3,
}

# ---- lines replaced by a local equivalent: (why, the method of Session that runs it) -------

SUBSTITUTES: dict[str, tuple[str, str]] = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/linkindex demo": (
        "pip install needs the network; the `linkindex demo` it ends with is the demo "
        "fixture, whose output and CSVs are checked here", "check_demo"),
    "mkdir -p redis-data && redis-server --dir redis-data --appendonly yes --requirepass "
    '"$REDIS_PASSWORD" --bind 127.0.0.1 --daemonize yes': (
        "a daemon on the fixed port 6379 would outlive the test and clash with other Redis "
        "servers: the same server (password, append-only file, loopback) on a free port, "
        "stopped after the test", "start_redis"),
    'curl -O "https://data.commoncrawl.org/$(zcat wat.paths.gz | head -1)"': (
        "downloads a Common Crawl WAT file: a hand-made one of the same name format "
        "instead, linking to the demo's target", "write_wat"),
    "cd deploy": ("compose runs from deploy/: the lines after it are read from there",
                  "cd_repo"),
    "cp .env.example .env": ("would write into the repo: the file copied must exist",
                             "check_copy_source"),
    "cp seeds.example.txt seeds.txt": ("would write into the repo: the file copied must "
                                       "exist", "check_copy_source"),
    "sed -i 's#image: linkindex:latest#image: registry.example.com/linkindex:0.1.0#' "
    "deploy/k8s/*.yaml deploy/k8s/*/*.yaml": (
        "edits the repo's manifests: run on a copy of deploy/k8s, and it must leave no "
        "manifest on the image linkindex:latest", "run_sed_on_copy"),
}

# Example names in the docs → what they become in the demo's data (filled in by `demo`).
EXAMPLE_NAMES = ("https://example.com/pricing", "https://example.com/", "https://example.org/",
                 "blog.example.com", "example.com", "me.com", "rival1.com", "rival2.com")

# Subcommands that start Scrapy's reactor (once per process) or serve forever: run in bash.
SHELL_SUBCOMMANDS = {"crawl", "worker", "demo", "testweb"}
SHELL_OPERATORS = re.compile(r"^[|&;<>()]+$")


def classify(command: Command) -> str | None:
    """How a shell command is run; None if nobody has said (a test failure)."""
    text = command.text
    if text in ALLOWLIST:
        return "skip"
    if text in SUBSTITUTES:
        return "substitute"
    if text.startswith("linkindex "):
        return "linkindex"
    if text.startswith("scrapy crawl "):
        return "scrapy"
    if re.match(r"(cd \S+ && )?duckdb -init ", text):
        return "duckdb"
    if re.match(r"export [A-Za-z_]\w*=", text):
        return "export"
    if re.match(r"for .*; do ([A-Z_]+=\S+ )*linkindex .* & done$", text):
        return "background"
    if text == "wait":
        return "wait"
    if re.match(r"python3? -c ", text):
        return "python-c"
    return None


def shell_blocks() -> Iterator[Block]:
    for path in doc_files():
        yield from (b for b in blocks(path) if b.lang == "sh")


def all_commands() -> list[Command]:
    return [c for b in shell_blocks() for c in commands(b)]


# ---- quick checks: no demo, no crawl -----------------------------------------------------------


def test_every_block_says_what_it_is() -> None:
    untagged = [b.where for path in doc_files() for b in blocks(path) if not b.lang]
    assert not untagged, (
        f"fenced code blocks without ```python, ```sh or ```text (a listing): {untagged}"
    )


def test_every_command_runs_or_is_listed() -> None:
    unclassified = [f"{c.where}: {c.text}" for c in all_commands() if classify(c) is None]
    assert not unclassified, (
        "doc commands tests/test_docs.py does not know how to run: make them runnable, or add "
        "them to ALLOWLIST (skipped) or SUBSTITUTES (a local equivalent) with the reason:\n"
        + "\n".join(unclassified)
    )


def test_every_listed_line_is_still_in_the_docs() -> None:
    texts = {c.text for c in all_commands()}
    stale = [line for line in [*ALLOWLIST, *SUBSTITUTES] if line not in texts]
    assert not stale, f"ALLOWLIST/SUBSTITUTES lines no doc has any more: {stale}"


def test_python_blocks_compile() -> None:
    for path in doc_files():
        for block in blocks(path):
            if block.lang == "python":
                compile(block.code, block.where, "exec")


def test_container_commands_parse() -> None:
    """The `linkindex` commands given to containers are ones the real parser accepts."""
    from linkindex.cli import build_parser

    pattern = re.compile(r"(?:docker compose run --rm (?:-T )?cli|"
                         r"kubectl exec \S+ -- linkindex) (?P<args>[^>]+)")
    found = 0
    for command in all_commands():
        match = pattern.match(command.text)
        if match:
            build_parser().parse_args(shlex.split(match["args"]))
            found += 1
    assert found >= 3


# ---- the demo's data, and a synthetic web to crawl ----------------------------------------------


@dataclass
class Demo:
    out: Path
    data: Path
    stdout: str
    examples: dict[str, str]  # example name in the docs → a real one in the demo's data


def _subprocess_env() -> dict[str, str]:
    # PYTHONPATH: run the code of this tree whatever the venv's install says.
    return {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": "1"}


@pytest.fixture(scope="session")
def demo_web() -> Iterator[str]:
    """The synthetic web of `linkindex demo` (its default size) on loopback: its proxy URL."""
    from synthweb import SyntheticWeb
    from synthweb.server import WebServer

    with WebServer(SyntheticWeb(n_sites=50, pages_per_site=20)) as server:
        yield server.proxy_url


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`linkindex demo --out DIR`, once; the example names resolved against its data."""
    from queries import run_sql

    out = tmp_path_factory.mktemp("docs") / "linkindex-demo"
    proc = subprocess.run([sys.executable, "-m", "linkindex", "demo", "--out", str(out)],
                          cwd=REPO, env=_subprocess_env(), capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    data = out / "data"

    def column(sql: str) -> list[str]:  # what `linkindex sql` runs
        return run_sql(data, sql).column(0).to_pylist()

    # As the demo picks them: the best-linked site is the target, the next two are the
    # leaders, and the least-linked site asks for its link gap against them.
    ranked = column("SELECT domain FROM domains WHERE pages_crawled > 0"
                    " ORDER BY referring_domains DESC, domain")
    target, leaders, gap_me = ranked[0], ranked[1:3], ranked[-1]
    # blog.example.com: the best-linked subdomain (the synthetic web has a blog.* one).
    host = column("SELECT dst_host FROM edges WHERE external AND live AND dst_host <> dst_domain"
                  " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1") or [target]
    page = column(f"SELECT dst_url FROM top_pages('{target}') LIMIT 1")[0]
    # Seeds of the crawls: the home pages of the two smallest sites (quicker to crawl).
    small = column("SELECT domain FROM domains d WHERE pages_crawled > 0 AND EXISTS (SELECT 1"
                   " FROM pages p WHERE p.url = 'http://' || d.domain || '/' AND p.status = 200)"
                   " ORDER BY pages_crawled, domain LIMIT 2")
    examples = {
        "https://example.com/pricing": page, "https://example.com/": f"http://{small[0]}/",
        "https://example.org/": f"http://{small[1]}/", "blog.example.com": host[0],
        "example.com": target, "me.com": gap_me, "rival1.com": leaders[0],
        "rival2.com": leaders[1],
    }
    assert set(examples) == set(EXAMPLE_NAMES)
    return Demo(out, data, proc.stdout, examples)


# ---- one doc file, run as a reader runs it -------------------------------------------------------


@dataclass
class Session:
    """A folder and environment in which one doc file's commands run in order."""

    root: Path
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    env: dict[str, str] = field(default_factory=dict)  # for bash and subprocesses
    subs: dict[str, str] = field(default_factory=dict)  # text replaced before running
    docdir: Path = REPO  # where repo-relative lines (`cd deploy`, `cp`) look
    background: list[subprocess.Popen[str]] = field(default_factory=list)
    redis: object | None = None
    proxy_url: str = ""
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    _ready: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    # -- setup, only when a command needs the demo --

    def ready(self) -> None:
        """`data` (a copy of the demo's DATA), `seeds.txt`, ~/archives/, the loopback proxy."""
        if self._ready:
            return
        from queries import write_init_file

        demo: Demo = self.request.getfixturevalue("demo")
        proxy_url = self.request.getfixturevalue("demo_web")
        shutil.copytree(demo.data, self.data)
        write_init_file(self.data)  # its views name the copy's files, as a build would
        (self.root / "seeds.txt").write_text(
            "# two sites of the demo\n" + demo.examples["https://example.com/"] + "\n"
            + demo.examples["https://example.org/"] + "\n")
        home = self.root / "home"  # $HOME: ~/archives/ holds someone's own WARC
        self._write_warc(home / "archives" / "site-backup.warc.gz", demo.examples["example.com"])
        bin_dir = self.root / "bin"  # `linkindex` for bash: this tree, crawls made local
        bin_dir.mkdir()
        wrapper = bin_dir / "linkindex"
        wrapper.write_text(
            f"#!{sys.executable}\nimport os, sys\n"
            f"sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'tests')!r}]\n"
            "from docsnippets import local_argv\nfrom linkindex.cli import main\n"
            "sys.exit(main(local_argv(sys.argv[1:], os.environ['DOCS_PROXY_URL'])))\n")
        wrapper.chmod(0o755)
        self.env.update(_subprocess_env())
        self.env.update(HOME=str(home), DOCS_PROXY_URL=proxy_url,
                        PATH=f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}")
        for name in ("LINKINDEX_DATA", "LINKINDEX_REDIS_URL"):
            self.env.pop(name, None)
            self.monkeypatch.delenv(name, raising=False)
        self.monkeypatch.setenv("LINKINDEX_DEBUG", "1")  # a bug shows its traceback
        self.monkeypatch.chdir(self.root)
        self.subs.update(demo.examples)
        self.proxy_url = proxy_url
        self._ready = True

    @staticmethod
    def _write_warc(path: Path, target: str) -> None:
        """A WARC of one page linking to `target`, made with warcio (tests/warcdata.py)."""
        from warcdata import http_response, response, write_warc

        path.parent.mkdir(parents=True, exist_ok=True)
        body = f'<html><title>Backup</title><a href="http://{target}/">our friends</a></html>'
        write_warc(path, [response("http://archived.example/", http_response(body.encode()))])

    # -- running --

    def substitute(self, text: str) -> str:
        if not self.subs:
            return text
        names = sorted(self.subs, key=len, reverse=True)
        pattern = r"(?<![\w.-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])"
        return re.sub(pattern, lambda m: self.subs[m[0]], text)

    def bash(self, script: str, *, cwd: Path | None = None,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["bash", "-c", script], cwd=cwd or self.root, env=self.env,
                              capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, (
                f"{script}\nexited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                f"stderr:\n{proc.stderr}")
        return proc

    def words(self, text: str) -> list[str]:
        """The words bash makes of a simple command: quotes, $VARS, ~ and globs."""
        return self.bash(f"set -- {text}\nprintf '%s\\0' \"$@\"").stdout.split("\0")[:-1]

    def run_block(self, block: Block) -> None:
        if block.lang == "python":
            self.ready()
            self.run_python(block)
        elif block.lang == "sh":
            for command in commands(block):
                how = classify(command)
                assert how is not None, f"{command.where}: unclassified: {command.text}"
                if how == "skip":
                    self.skipped.append(f"{command.where}: {ALLOWLIST[command.text]}")
                    continue
                started = time.monotonic()
                try:
                    self.run_command(command, how)
                except AssertionError as exc:
                    raise AssertionError(f"{command.where}: {command.text}\n{exc}") from None
                self.ran.append(f"{command.where} ({how}, {time.monotonic() - started:.1f}s)")

    def run_command(self, command: Command, how: str) -> None:
        if how == "substitute":
            getattr(self, SUBSTITUTES[command.text][1])(command)
            return
        self.ready()
        text = self.substitute(command.raw)
        if how == "linkindex":
            self.run_linkindex(text)
        elif how == "scrapy":
            self.run_scrapy(text)
        elif how == "duckdb":
            self.run_duckdb(command)
        elif how == "export":
            name = re.match(r"export ([A-Za-z_]\w*)=", command.text)[1]
            value = self.bash(f"{text}\nprintf '%s' \"${name}\"").stdout
            self.env[name] = value
            self.monkeypatch.setenv(name, value)
        elif how == "background":
            self.background.append(subprocess.Popen(
                ["bash", "-c", f"{text}\nwait"], cwd=self.root, env=self.env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL))
        elif how == "wait":
            self.wait_background()
        elif how == "python-c":
            self.run_python_c(text)
        else:
            raise AssertionError(f"no runner for {how}")

    def run_linkindex(self, text: str) -> None:
        body = text.removeprefix("linkindex").strip()
        lexer = shlex.shlex(body, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        if any(SHELL_OPERATORS.match(token) for token in lexer):
            raise AssertionError("a linkindex line with shell operators: add a runner for it")
        argv = self.words(body)
        if argv[0] in SHELL_SUBCOMMANDS:
            proc = self.bash(text)
            out = proc.stdout
        else:
            from linkindex.cli import main

            self.capsys.readouterr()
            try:
                code = main(local_argv(argv, self.proxy_url))
            except SystemExit as exc:  # argparse refused the command line
                code = exc.code
            out, err = self.capsys.readouterr()
            assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
        check_output(argv, out, self)

    def run_scrapy(self, text: str) -> None:
        """From the repo root, as written; DATA is this session's, pages from the proxy."""
        before = count_rows(self.data, "pages")
        text = re.sub(r"(-a data=)(\S+)", lambda m: m[1] + str(self.root / m[2]), text)
        extra = ["-s", f"LINKINDEX_PROXY={self.proxy_url}", "-s", "LINKINDEX_ALLOW_PRIVATE=True",
                 "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                 "-s", "LOG_LEVEL=WARNING"]
        self.bash(f"{text} {shlex.join(extra)}", cwd=REPO)
        assert count_rows(self.data, "pages") > before, "the Scrapy crawl stored no pages"

    def run_duckdb(self, command: Command) -> None:
        """`[cd DIR && ]duckdb -init FILE  # then: SQL`: in DIR, the init file and SQL
        through the real DuckDB CLI (duckdb-cli, in the test extra) and the duckdb package."""
        import duckdb

        match = re.fullmatch(r"(?:cd (\S+) && )?duckdb -init (\S+)", command.text)
        assert match, command.text
        where = self.root / self.words(match[1])[0] if match[1] else self.root
        init = where / self.words(match[2])[0]
        then = re.fullmatch(r"then: (.+)", command.comment)
        assert then, "say which statement to try after `duckdb -init` (# then: SQL)"
        sql = self.substitute(then[1])
        cli = subprocess.run([str(Path(sys.executable).with_name("duckdb")), "-init",
                              str(init), "-json", "-c", sql], cwd=where, env=self.env,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert cli.returncode == 0 and cli.stdout.strip() not in ("", "[]"), cli.stderr
        self.monkeypatch.chdir(where)  # the file's paths are relative to DATA
        con = duckdb.connect()
        con.execute(init.read_text())
        rows = con.execute(sql).fetchall()
        self.monkeypatch.chdir(self.root)
        assert rows, f"{then[1]} gave no rows"
        # The README's next claim: `linkindex sql --print-init` prints the same text.
        from linkindex.cli import main

        self.capsys.readouterr()
        assert main(["sql", "--print-init", "--data", str(init.parent)]) == 0
        assert self.capsys.readouterr().out.rstrip("\n") == init.read_text().rstrip("\n")

    def run_python(self, block: Block) -> None:
        """Executed in the session folder as written (example names replaced), warnings
        as errors; the value of a last expression must not be empty."""
        tree = ast.parse(self.substitute(block.code), block.where)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        namespace: dict[str, object] = {"__name__": "__main__"}
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a deprecated call is rot too
            exec(compile(tree, block.where, "exec"), namespace)  # noqa: S102
            value = (eval(compile(ast.Expression(last.value), block.where, "eval"), namespace)
                     if last is not None else None)
        if last is not None:
            rows = getattr(value, "num_rows", None)
            assert (rows > 0) if rows is not None else value is not None, (
                f"{block.where}: the last expression gave {value!r}")
        self.ran.append(f"{block.where} (python)")

    def run_python_c(self, text: str) -> None:
        """`python -c … DATA/<warc_file> <warc_offset>`: a real page's record."""
        if "<warc_file>" in text or "<warc_offset>" in text:
            warc_file, offset = self.a_warc_record()
            text = (text.replace("DATA/<warc_file>", str(self.data / warc_file))
                    .replace("<warc_offset>", str(offset)))
        assert "<" not in text.split('"')[-1], f"a placeholder left: {text}"
        out = self.bash(text).stdout
        assert out.strip(), "printed nothing"
        assert "html" in out.lower(), out

    def a_warc_record(self) -> tuple[str, int]:
        """A pages row with a WARC record in DATA; if none, import one archived into DATA."""
        import duckdb

        def find() -> tuple[str, int] | None:
            return duckdb.connect().execute(
                f"SELECT warc_file, warc_offset FROM read_parquet('{self.data}/raw/*/pages/"
                f"*.parquet', union_by_name = true) WHERE warc_file IS NOT NULL"
                f" AND status = 200 ORDER BY ALL LIMIT 1").fetchone()

        if find() is None:
            from linkindex.cli import main

            warc = self.data / "warc" / "docs-sample" / "sample.warc.gz"
            self._write_warc(warc, self.subs["example.com"])
            assert main(["import-warc", str(warc), "--crawl-id", "docs-sample",
                         "--data", str(self.data)]) == 0
            self.capsys.readouterr()
        return find()

    def wait_background(self) -> None:
        while self.background:
            proc = self.background.pop(0)
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
            step = re.search(r"\blinkindex build (map|reduce|write) ", " ".join(proc.args))
            if step:  # build tasks: each says what it did, one line each
                lines = out.splitlines()
                tasks = re.search(r"--tasks (\d+)", " ".join(proc.args))
                assert tasks and len(lines) == int(tasks[1]), f"{out!r}\n{err}"
                for line in lines:
                    _check_build(["build", step[1]], line)
                continue
            stored = [int(n.replace(",", "")) for n in
                      re.findall(r"^job \S+: ([\d,]+) pages stored by this worker", out, re.M)]
            assert stored and sum(stored) > 0, f"no worker stored pages:\n{out}\n{err}"

    def close(self) -> None:
        for proc in self.background:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        if self.redis is not None:
            self.redis.kill()

    # -- the local equivalents of SUBSTITUTES --

    def check_demo(self, command: Command) -> None:
        from linkindex.demo import CSV_QUERIES

        demo: Demo = self.request.getfixturevalue("demo")
        hosts = re.search(r"synthetic web: (\d+) hosts", demo.stdout)
        # README, Quick start: "The demo serves a synthetic web of 52 hosts".
        assert hosts and hosts[1] == "52", demo.stdout
        assert "CSVs written to" in demo.stdout, demo.stdout
        for name in (*CSV_QUERIES, "link_gap"):
            csv = demo.out / "csv" / f"{name}.csv"
            assert len(csv.read_text().splitlines()) >= 2, csv

    def start_redis(self, command: Command) -> None:
        from linkindex.localredis import RedisServer

        self.ready()
        password = self.env.get("REDIS_PASSWORD")
        assert password, "REDIS_PASSWORD is not set by the lines before"
        self.redis = RedisServer(self.root / "redis-data", password=password).start()
        self.subs["127.0.0.1:6379"] = f"127.0.0.1:{self.redis.port}"

    def write_wat(self, command: Command) -> None:
        from warcdata import wat, wat_envelope, write_warc

        self.ready()
        target = self.subs["example.com"]
        html = {"Head": {"Title": "A page"},
                "Links": [{"path": "A@/href", "url": f"http://{target}/", "text": "a friend"}]}
        name = "CC-MAIN-20240801000000-20240801010000-00000.warc.wat.gz"
        write_warc(self.root / name,
                   [wat("http://cc.example/", wat_envelope("http://cc.example/", html=html))])

    def cd_repo(self, command: Command) -> None:
        self.docdir = REPO / command.text.split()[1]
        assert self.docdir.is_dir(), self.docdir

    def check_copy_source(self, command: Command) -> None:
        source = self.docdir / command.text.split()[1]
        assert source.is_file(), f"{source} does not exist"

    def run_sed_on_copy(self, command: Command) -> None:
        copy = self.root / "repo-copy"
        shutil.copytree(REPO / "deploy", copy / "deploy")
        before = {p: p.read_text() for p in (copy / "deploy" / "k8s").rglob("*.yaml")}
        self.bash(command.raw, cwd=copy)
        changed = [p.name for p, text in before.items() if p.read_text() != text]
        assert changed, "the sed changed no manifest: is the image still linkindex:latest?"
        missed = [str(p.relative_to(copy)) for p in before if "image: linkindex:latest" in
                  p.read_text()]
        assert not missed, f"the sed misses manifests in other folders: {missed}"


def count_rows(data: Path, table: str) -> int:
    import duckdb

    if not list(data.glob(f"raw/*/{table}/*.parquet")):
        return 0
    return duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{data}/raw/*/{table}/*.parquet',"
        " union_by_name = true)").fetchone()[0]


# ---- what each linkindex command prints when it works -------------------------------------------


def _number(pattern: str, out: str) -> int:
    match = re.search(pattern, out)
    assert match, f"expected /{pattern}/ in:\n{out}"
    return int(match[1].replace(",", ""))


def _option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in names and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _rows_shown(argv: list[str], out: str) -> None:
    fmt = _option(argv, "--format") or "table"
    if fmt == "csv":
        assert len(out.strip().splitlines()) >= 2, f"no rows:\n{out}"
    elif fmt == "json":
        assert out.strip() not in ("", "[]"), f"no rows:\n{out}"
    else:
        assert out.strip() and "(no rows)" not in out, f"no rows:\n{out}"


def check_output(argv: list[str], out: str, session: Session) -> None:
    from queries import QUERIES

    checks: dict[tuple[str, ...], Callable[[], None]] = {
        ("crawl",): lambda: _number(r"^crawl \S+: ([\d,]+) pages", out) > 0 or _fail(out),
        ("build",): lambda: _check_build(argv, out),
        ("import-warc",): lambda: _number(r"records, ([\d,]+) pages", out) > 0 or _fail(out),
        ("reextract",): lambda: _number(r"^reextract \S+: ([\d,]+) WARC files", out) > 0
                                or _fail(out),
        ("queries",): lambda: _assert(all(re.search(rf"^{name}\b", out, re.M)
                                          for name in QUERIES), out),
        ("query",): lambda: _rows_shown(argv, out),
        ("sql",): lambda: _rows_shown(argv, out),
        ("export",): lambda: _check_export(argv, out, session),
        ("job", "submit"): lambda: _number(r"([\d,]+) seeds queued", out) > 0 or _fail(out),
        ("job", "status"): lambda: _assert(f"job {argv[2]}" in out, out),
        ("job", "list"): lambda: _assert(out.strip(), out),
        ("job", "pause"): lambda: _assert(f"job {argv[2]}: paused" in out, out),
        ("job", "resume"): lambda: _assert(f"job {argv[2]}: running" in out, out),
        ("job", "stop"): lambda: _assert(f"job {argv[2]}: stopped" in out, out),
        ("job", "purge"): lambda: _assert(f"job {argv[2]}: purged" in out, out),
    }
    check = checks.get(tuple(argv[:2])) or checks.get(tuple(argv[:1]))
    assert check is not None, f"no expected output known for `linkindex {argv[0]}`: add one"
    check()


def _check_build(argv: list[str], out: str) -> None:
    """The whole build, or one step of a cluster build (README, "at scale")."""
    step = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else None
    if step in (None, "commit"):
        _assert(re.search(r"^(built index|index \S+ is up to date|nothing to do)", out)
                and ("DuckDB init file:" in out or "nothing to do" in out), out)
    elif step == "plan":
        _assert(re.search(r"^(planned g\d{6}: (incremental|full)|index \S+ is up to date)",
                          out), out)
    else:
        _assert(re.search(rf"^({step} task \d+/\d+: [\d,]+ \w+ of g\d{{6}}|nothing to do)",
                          out), out)


def _assert(condition: object, out: str) -> None:
    assert condition, f"unexpected output:\n{out}"


def _fail(out: str) -> bool:
    raise AssertionError(f"unexpected output:\n{out}")


def _check_export(argv: list[str], out: str, session: Session) -> None:
    target = Path(_option(argv, "-o", "--output"))
    rows = _number(r"^wrote ([\d,]+) rows to", out)
    assert rows > 0, out
    raw = (session.root / target).read_bytes()
    if "--bom" in argv:
        assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]
    assert len(raw.decode("utf-8-sig").splitlines()) == rows + 1


# ---- the docs, run ----------------------------------------------------------------------------


@pytest.fixture
def session(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Iterator[Session]:
    session = Session(tmp_path, request, monkeypatch, capsys)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_doc_runs(doc: Path, session: Session) -> None:
    for block in blocks(doc):
        session.run_block(block)
    print(f"{doc.relative_to(REPO)}: ran {len(session.ran)}, skipped {len(session.skipped)}")
    for line in session.ran:
        print(f"  ran {line}")
    for line in session.skipped:
        print(f"  skipped {line}")
