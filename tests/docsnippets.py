"""The code blocks of the docs, as tests/test_docs.py runs them.

A fenced block must say what it is: ```python (run), ```sh (run line by line), ```text
(a listing, not run). An indented block is taken as shell. A shell block is cut into
commands: `\\`-continued lines are joined, blank and comment-only lines dropped, and a
trailing `# comment` kept apart (outside quotes only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = {"python": "python", "sh": "sh", "bash": "sh", "shell": "sh", "text": "text"}
# Our own loopback server: no politeness delays (as tests/clitools.py crawls).
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=64",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]


def doc_files() -> list[Path]:
    """The docs a user pastes from: README.md, docs/*.md, deploy/README.md."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
            REPO / "deploy" / "README.md"]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the block's first line of code
    lang: str  # python, sh, text; "" for a fence without a known tag
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


@dataclass(frozen=True)
class Command:
    block: Block
    line: int      # 1-based line in the file
    raw: str       # the command as written, continuation lines and all, comment removed
    text: str      # one line: continuations joined, runs of whitespace collapsed
    comment: str   # the trailing comment, without `#`

    @property
    def where(self) -> str:
        return f"{self.block.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        if token.type == "fence":
            tag = token.info.strip().split(" ")[0].lower()
            found.append(Block(path, token.map[0] + 2, LANGUAGES.get(tag, ""), token.content))
        elif token.type == "code_block":
            found.append(Block(path, token.map[0] + 1, "sh", token.content))
    return found


def split_comment(line: str) -> tuple[str, str]:
    """`cmd args  # note` → ("cmd args", "note"); a `#` inside quotes or a word stays."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                continue
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def commands(block: Block) -> list[Command]:
    """The commands of a shell block, in order."""
    out: list[Command] = []
    lines = block.code.splitlines()
    i = 0
    while i < len(lines):
        start, parts = i, [lines[i]]
        while parts[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            parts.append(lines[i])
        i += 1
        raw = "\n".join(parts)
        code, comment = split_comment(raw.strip())
        if not code:
            continue
        text = re.sub(r"\s+", " ", re.sub(r"\\\n\s*", " ", code)).strip()
        out.append(Command(block, block.line + start, code, text, comment))
    return out


def local_argv(argv: list[str], proxy_url: str) -> list[str]:
    """A doc's `linkindex` command, made to run here: crawls go to the synthetic web.

    `crawl` and `worker` fetch through the loopback proxy (hence --allow-private) without
    politeness delays; `job submit` gets --delay 0 (one fetch per domain per second would
    make the cluster walk-through take minutes).
    """
    if argv[:1] in (["crawl"], ["worker"]):
        return [*argv, "--proxy", proxy_url, "--allow-private", *FAST]
    if argv[:2] == ["job", "submit"]:
        return [*argv, "--delay", "0"]
    return argv
