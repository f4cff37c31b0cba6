"""One crawl spec (crawler/spec.py): its defaults are the CLI's, the settings' and a job's,
and its one validation is what `crawl`, `scrapy crawl links` and `job submit` say."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.settings import Settings

import crawler.settings
from core.errors import LinkindexError
from crawler import spec as spec_module
from crawler.frontier import defaults
from crawler.spec import CRAWL_SCOPES, DEFAULTS, LIMITS, SETTINGS, CrawlSpec, option
from crawler.spiders.links import ARGUMENT_SETTINGS, LinksSpider, prepare_settings
from linkindex.cli import build_parser, main

SEED = "http://a.example/"
# Nothing listens here: `job submit` must reject bad input before it asks Redis.
NO_REDIS = "redis://127.0.0.1:9/0"


def project_settings(**overrides: object) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(overrides, priority="cmdline")
    return settings


# --- one set of defaults -------------------------------------------------------------


def test_defaults_are_the_dataclass_defaults() -> None:
    spec = CrawlSpec([SEED])
    assert {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)} == {
        **DEFAULTS, "seeds": (SEED,)}
    assert DEFAULTS["scope"] in CRAWL_SCOPES
    # the cluster job's options default to the frontier's defaults
    assert (DEFAULTS["delay"], DEFAULTS["margin"], DEFAULTS["max_attempts"]) == (
        defaults.DELAY_SECONDS, defaults.MARGIN_SECONDS, defaults.MAX_ATTEMPTS)
    assert (DEFAULTS["seen_mode"], DEFAULTS["expected_urls"], DEFAULTS["bloom_error_rate"]) == (
        defaults.SEEN_MODE, defaults.EXPECTED_URLS, defaults.BLOOM_ERROR_RATE)


@pytest.mark.parametrize("argv", [["crawl", SEED], ["job", "submit", "j1", SEED]])
def test_cli_defaults_are_the_spec_defaults(argv: list[str]) -> None:
    args = vars(build_parser().parse_args(argv))
    given = {name: args[name] for name in DEFAULTS if name in args and name != "seeds"}
    assert given == {name: DEFAULTS[name] for name in given}
    assert set(LIMITS) | {"scope"} <= set(given)
    if argv[0] == "job":  # every option a job takes from the command line
        assert {"delay", "seen_mode", "expected_urls", "max_attempts"} <= set(given)
    assert CrawlSpec.from_options(args) == CrawlSpec([SEED])


def test_cli_choices_are_the_spec_lists() -> None:
    parser = build_parser()
    for argv in (["crawl"], ["job", "submit"]):
        sub = parser
        for word in argv:
            sub = next(a for a in sub._actions if a.dest in ("command", "action")).choices[word]
        actions = {a.dest: a for a in sub._actions}
        assert tuple(actions["scope"].choices) == CRAWL_SCOPES
        assert {option(name) for name in LIMITS} <= {
            o for a in sub._actions for o in a.option_strings}
        if "seen_mode" in actions:
            assert tuple(actions["seen_mode"].choices) == defaults.SEEN_MODES


def test_settings_defaults_are_the_spec_defaults() -> None:
    for name, setting in SETTINGS.items():
        expected = list(DEFAULTS[name]) if name == "seeds" else DEFAULTS[name]
        assert getattr(crawler.settings, setting) == expected, setting
    assert CrawlSpec.from_settings(project_settings(LINKINDEX_SEEDS=[SEED])) == CrawlSpec([SEED])


def test_a_changed_default_changes_the_cli_and_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(spec_module.DEFAULTS, "scope", "any")
    monkeypatch.setitem(spec_module.DEFAULTS, "max_pages", 7)
    monkeypatch.setitem(spec_module.DEFAULTS, "delay", 2.5)
    try:
        settings = importlib.reload(crawler.settings)
        assert (settings.LINKINDEX_SCOPE, settings.LINKINDEX_MAX_PAGES) == ("any", 7)
        args = build_parser().parse_args(["job", "submit", "j1", SEED])
        assert (args.scope, args.max_pages, args.delay) == ("any", 7, 2.5)
    finally:
        monkeypatch.undo()
        importlib.reload(crawler.settings)
    assert crawler.settings.LINKINDEX_SCOPE == CRAWL_SCOPES[0]


# --- one validation ------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "message"), [
    ({"seeds": []}, "no seed URLs: give at least one URL or a seeds file"),
    ({"seeds": ["  ", ""]}, "no seed URLs: give at least one URL or a seeds file"),
    ({"seeds": ["ftp://x/"]},
     "bad seed URL 'ftp://x/': expected an http(s) URL such as https://example.com/"),
    ({"scope": "everywhere"}, "scope must be one of seed-domains, any"),
    ({"max_depth": -1}, "--max-depth must not be negative"),
    ({"max_pages": -1}, "--max-pages must not be negative"),
    ({"max_pages_per_domain": -2}, "--max-pages-per-domain must not be negative"),
    ({"delay": -0.5}, "--delay must be ≥ 0 and max attempts ≥ 1"),
    ({"max_attempts": 0}, "--delay must be ≥ 0 and max attempts ≥ 1"),
    ({"seen_mode": "guess"}, "seen filter mode must be exact, bloom or scalable, not 'guess'"),
    ({"seen_mode": "bloom", "bloom_error_rate": 1.5},
     "the Bloom filter's error rate must be between 0 and 1"),
])
def test_each_check_has_its_message(spec: dict, message: str) -> None:
    with pytest.raises(LinkindexError) as raised:
        CrawlSpec(**{"seeds": [SEED], **spec})
    assert str(raised.value) == message


def test_seeds_are_normalised_deduplicated_and_read_from_a_file(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# comment\nb.example\n\nhttp://a.example\n")
    spec = CrawlSpec.read(["http://A.example/", "a.example"], seeds, scope="any")
    assert spec.seeds == ("http://a.example/", "http://b.example/")
    assert spec.scope_domains() is None
    assert CrawlSpec(spec.seeds).scope_domains() == {"a.example", "b.example"}
    with pytest.raises(LinkindexError, match="cannot read seeds file"):
        CrawlSpec.read([SEED], tmp_path / "nope.txt")
    assert CrawlSpec(SEED).seeds == (SEED,)  # one URL, not its characters


def test_zero_limits_are_limits() -> None:
    spec = CrawlSpec([SEED], max_depth=0, max_pages=0, max_pages_per_domain=0)
    assert spec.to_settings()["LINKINDEX_MAX_DEPTH"] == 0


# --- settings ------------------------------------------------------------------------


def test_settings_round_trip(tmp_path: Path) -> None:
    spec = CrawlSpec(["http://b.example/x", SEED], scope="any", max_depth=2, max_pages=10,
                     max_pages_per_domain=3)
    settings = project_settings(**spec.to_settings())
    assert CrawlSpec.from_settings(settings) == spec
    assert settings.getlist("LINKINDEX_SEEDS") == ["http://b.example/x", SEED]
    # as -s and -a give them: strings, a comma-separated list, a seeds file
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://c.example/\n")
    from_strings = CrawlSpec.from_settings(project_settings(
        LINKINDEX_SEEDS="http://b.example/x,http://a.example", LINKINDEX_SEEDS_FILE=str(seeds),
        LINKINDEX_SCOPE="any", LINKINDEX_MAX_DEPTH="2", LINKINDEX_MAX_PAGES="10",
        LINKINDEX_MAX_PAGES_PER_DOMAIN="", ))
    assert from_strings == CrawlSpec([*spec.seeds, "http://c.example/"], scope="any",
                                     max_depth=2, max_pages=10)


def test_settings_checks_are_the_spec_checks() -> None:
    with pytest.raises(LinkindexError, match="^--max-pages must not be negative$"):
        prepare_settings(project_settings(LINKINDEX_SEEDS=[SEED], LINKINDEX_MAX_PAGES="-1"))
    with pytest.raises(LinkindexError, match="^scope must be one of seed-domains, any$"):
        prepare_settings(project_settings(LINKINDEX_SEEDS=[SEED], LINKINDEX_SCOPE="x"))
    with pytest.raises(LinkindexError, match="^no seed URLs"):
        prepare_settings(project_settings())
    with pytest.raises(LinkindexError,
                       match="^setting LINKINDEX_MAX_DEPTH must be a whole number, not 'deep'$"):
        prepare_settings(project_settings(LINKINDEX_SEEDS=[SEED], LINKINDEX_MAX_DEPTH="deep"))
    # a cluster worker's seeds and limits are its job's: none needed here
    prepare_settings(project_settings(LINKINDEX_JOB="j1"))


def test_spider_arguments_are_the_spec_settings(tmp_path: Path) -> None:
    assert {name: ARGUMENT_SETTINGS[name] for name in SETTINGS} == SETTINGS
    crawler = Crawler(LinksSpider, project_settings())
    spider = LinksSpider.from_crawler(crawler, seeds=f"{SEED},b.example", max_pages="4",
                                      max_depth="0", scope="any", data=str(tmp_path))
    assert (spider.seeds, spider.max_pages, spider.max_depth, spider.scope_domains) == (
        [SEED, "http://b.example/"], 4, 0, None)
    assert spider.max_per_domain is None


# --- `crawl` and `job submit` say the same ------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    ([], "no seed URLs: give at least one URL or a seeds file"),
    (["ftp://example.com/"], "bad seed URL 'ftp://example.com/'"),
    ([SEED, "--max-depth", "-1"], "--max-depth must not be negative"),
    ([SEED, "--max-pages", "-3"], "--max-pages must not be negative"),
    ([SEED, "--max-pages-per-domain", "-1"], "--max-pages-per-domain must not be negative"),
    ([SEED, "--seeds-file", "/nonexistent/seeds.txt"], "cannot read seeds file"),
])
def test_crawl_and_job_submit_reject_the_same_input_alike(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    said = []
    for command, options in ((["crawl"], ["--data", str(tmp_path / "data")]),
                             (["job", "submit", "j1"], ["--redis", NO_REDIS])):
        assert main([*command, *argv, *options]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"linkindex: error: {message}") and err.count("\n") == 1, err
        said.append(err)
    assert said[0] == said[1]
    assert not (tmp_path / "data").exists()


def test_a_bad_scope_is_refused_alike(capsys: pytest.CaptureFixture[str]) -> None:
    said = []
    for command in (["crawl"], ["job", "submit", "j1"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, SEED, "--scope", "everywhere"])
        assert exited.value.code == 2
        said.append(capsys.readouterr().err.splitlines()[-1].split(": error: ")[1])
    assert said[0] == said[1] and "seed-domains" in said[0]


def test_job_submit_checks_the_name_before_redis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "submit", "bad/name", SEED, "--redis", NO_REDIS]) == 1
    assert "bad crawl id 'bad/name'" in capsys.readouterr().err


def test_crawl_settings_given_with_s_are_checked_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["crawl", SEED, "--data", str(tmp_path / "data"), "-s", "LINKINDEX_MAX_PAGES=-1"]
    assert main(argv) == 1
    assert capsys.readouterr().err == "linkindex: error: --max-pages must not be negative\n"
