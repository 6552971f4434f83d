"""Every Debian package the project needs on the control node is in scripts/setup.sh's list.

The host commands are collected from the sources, not remembered: the first word of
every ``argv:`` list and shell command in the roles, playbooks and Molecule scenarios,
every ``subprocess`` call and ``shutil.which`` in the Python code, and the commands of
the shell scripts and the Makefile. Each must be classified in ``HOST_COMMANDS`` below
(its Debian package, or why no package is needed); a new command that is not fails
``test_every_host_command_is_classified`` until someone says where it comes from.
Then every package named there (and in ``IMPLICIT_PACKAGES``, for what no command line
shows) must be in APT_PACKAGES or be Essential/Priority required on Debian 12.

The tests read the repository only; the one dpkg query (``test_essential_table_matches_dpkg``)
checks this file's table of Essential packages on a Debian 12 machine and skips elsewhere.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup.sh"

# Debian 12's packages with Essential: yes or Priority: required: present on every
# installation (debootstrap's minbase included), so setup need not list them.
ESSENTIAL = frozenset(
    {
        # Essential: yes
        "base-files", "base-passwd", "bash", "bsdutils", "coreutils", "dash", "debianutils", "diffutils",
        "dpkg", "findutils", "grep", "gzip", "hostname", "init-system-helpers", "libc-bin", "login",
        "ncurses-base", "ncurses-bin", "perl-base", "sed", "sysvinit-utils", "tar", "util-linux",
        # Priority: required
        "apt", "debconf", "e2fsprogs", "mawk", "mount", "passwd", "tzdata",
    }
)  # fmt: skip

# Markers for commands that need no Debian package of setup's.
VENV = "venv"  # installed into .venv by setup (requirements.txt) or run by its absolute path
PROJECT = "project"  # a script or program of this repository
CONTAINER = "container"  # runs inside a container (podman exec, a role on a container host)
NOT_DEBIAN = "not-debian"  # no Debian package: checked early by the scripts that use it

# Every command the project runs, mapped to where it comes from. Keys are command
# names as written in the sources (basename for absolute paths).
HOST_COMMANDS: dict[str, str] = {
    # Essential / required
    "awk": "mawk", "basename": "coreutils", "bash": "bash", "cat": "coreutils", "cd": "bash",
    "chmod": "coreutils", "chroot": "coreutils", "command": "bash", "cp": "coreutils", "cut": "coreutils",
    "date": "coreutils", "dirname": "coreutils", "dpkg-query": "dpkg", "echo": "bash", "env": "coreutils",
    "exec": "bash", "find": "findutils", "getent": "libc-bin", "grep": "grep", "id": "coreutils",
    "kill": "bash", "ln": "coreutils", "ls": "coreutils", "mkdir": "coreutils", "mktemp": "coreutils",
    "mv": "coreutils", "nohup": "coreutils", "printf": "bash", "pwd": "bash", "read": "bash", "rm": "coreutils",
    "sed": "sed", "sh": "dash", "sha256sum": "coreutils", "sleep": "coreutils", "sort": "coreutils",
    "tail": "coreutils", "tar": "tar", "timeout": "coreutils", "tr": "coreutils", "xargs": "findutils",
    "apt-get": "apt", "gzip": "gzip", "head": "coreutils", "ipcrm": "util-linux", "flock": "util-linux",
    "readlink": "coreutils",
    # setup's list
    "podman": "podman", "debootstrap": "debootstrap", "git": "git", "gcc": "gcc", "g++": "g++",
    "make": "make", "openssl": "openssl", "java": "default-jre-headless", "python3": "python3",
    "ssh": "openssh-client", "ssh-keygen": "openssh-client", "curl": "curl",
    # Python's venvs
    "ansible-playbook": VENV, "molecule": VENV, "pytest": VENV, "ruff": VENV, "yamllint": VENV,
    "ansible-lint": VENV, "pip": VENV, "gunicorn": VENV, "gradestack-web": VENV, "checkov": VENV,
    "python": VENV,
    # this repository
    "build-base-image.sh": PROJECT, "build-grading-image.sh": PROJECT, "build-verifier-image.sh": PROJECT,
    "source_version.sh": PROJECT,
    "lint-terraform.sh": PROJECT, "run-molecule.sh": PROJECT, "emulated.sh": PROJECT, "setup.sh": PROJECT,
    "prog": PROJECT,  # a compiled submission (grading bench)
    # inside containers (roles applied to container hosts, podman exec)
    "systemctl": CONTAINER, "nginx": CONTAINER, "logrotate": CONTAINER, "systemd-run": CONTAINER,
    "update-ca-certificates": CONTAINER,  # chroot into the image being built
    # not in Debian: the scripts and tests that use them say how to install them
    "terraform": NOT_DEBIAN,  # HashiCorp's; setup.d/20-terraform.sh warns, scripts/terraform.sh dies
    "docker": NOT_DEBIAN,  # an alternative to podman for the AWS path's image build (preflight)
}  # fmt: skip

# Packages no command line shows: libraries, files read by path, connections Ansible makes.
IMPLICIT_PACKAGES: dict[str, str] = {
    "netavark": "podman's network backend (setup's containers.conf); CNI resolves no container names",
    "aardvark-dns": "DNS for container names on podman networks (web hosts reach db, mq, aws)",
    "iptables": "netavark's firewall rules for published ports and NAT",
    "runc": "podman's OCI runtime (setup's containers.conf; crun fails here)",
    "uidmap": "podman's user namespace tools",
    "libseccomp2": "pyseccomp (the grading sandbox) loads libseccomp.so.2",
    "libc6-dev": "gcc -static (the sandbox supervisor) and <stdio.h>, -lm for C submissions",
    "postgresql": "testsupport/postgres.py runs /usr/lib/postgresql/15/bin/{initdb,postgres}",
    "activemq": "testsupport/activemq.py runs /usr/share/activemq/bin/activemq.jar",
    "chromium": "tests/e2e/test_web_grading_e2e.py drives /usr/bin/chromium",
    "ca-certificates": "build-base-image.sh copies /etc/ssl/certs/ca-certificates.crt into the images",
    "python3-venv": "setup's python3 -m venv",
    "openssh-client": "ansible_connection: ssh (inventories/local, Molecule) and ansible.builtin.known_hosts",
}


def apt_packages() -> list[str]:
    """APT_PACKAGES=( ... ) of scripts/setup.sh, comments dropped."""
    match = re.search(r"^APT_PACKAGES=\(\n(.*?)^\)", SETUP.read_text(), re.MULTILINE | re.DOTALL)
    assert match, "scripts/setup.sh has no APT_PACKAGES=( ... ) block"
    return [word for line in match.group(1).splitlines() for word in line.split("#", 1)[0].split()]


# --- Command extraction -----------------------------------------------------------------------

# Words after which the next word is a command again.
SHELL_PREFIXES = {"if", "then", "else", "elif", "while", "until", "do", "!", "time", "{", "exec"}
# Commands that run the command after their options: both are recorded.
WRAPPERS = {"env", "nohup", "timeout", "xargs", "exec"}
# Builtins and keywords whose arguments are not commands.
SHELL_STATEMENTS = {
    "local", "export", "declare", "readonly", "unset", "set", "shift", "return", "exit", "trap", "wait",
    "break", "continue", "for", "case", "in", "esac", "fi", "done", "}", "source", ".", "eval", "test",
    "[", "[[", ":", "true", "false", "cd", "echo", "printf", "read", "command",
}  # fmt: skip
COMMAND_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
FUNCTION_DEFINITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)", re.MULTILINE)


def _strip_heredocs(text: str) -> str:
    """Drop here-document bodies (Python, HCL, config files) from a shell script."""
    out, terminator = [], None
    for line in text.splitlines():
        if terminator is not None:
            if line.strip() == terminator:
                terminator = None
            continue
        out.append(line)
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if heredoc:
            terminator = heredoc.group(1)
    return "\n".join(out)


def _substitutions(text: str) -> list[int]:
    """Where each $( ... ) starts, outside single quotes and comments (an awk program's $(i + 1) is none)."""
    starts, quote, i = [], "", 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\":
            i += 1
        elif quote == '"':
            quote = "" if char == '"' else quote
            if text.startswith("$((", i):
                i += 2
            elif text.startswith("$(", i):
                starts.append(i + 2)
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1] in " \t\n"):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("$((", i):
            i += 2
        elif text.startswith("$(", i):
            starts.append(i + 2)
        i += 1
    return starts


def shell_commands(script: str) -> set[str]:
    """Names in command position of a shell script (a tokenizer, not a parser: good enough for ours)."""
    text = _strip_heredocs(script).replace("\\\n", " ")
    # case patterns ("  minimal | systemd)") are not pipelines
    text = re.sub(r"^(\s*)[^\s()'\"]+(\s*\|\s*[^\s()'\"]+)*\)(?!\))", r"\1", text, flags=re.MULTILINE)
    names: set[str] = set()
    # $( ... ) inside double quotes is one word to the lexer: read each substitution on its own
    for start in _substitutions(text):
        depth, end = 1, start
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        names |= shell_commands(text[start : end - 1])
    text = text.replace("$(", " ; ( ").replace("`", " ; ")
    text = re.sub(r"\d*(>>|>&|<&|>|<)\d*-?", " ", text)  # redirections
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace = " \t\r"
    lexer.commenters = "#"
    lexer.wordchars += "$/{}[]*?=:,.+-@%^~!"
    at_start, array, wrapped, previous = True, False, False, ""
    for word in lexer:
        if array:  # the words of an array assignment, NAME=( ... )
            array = word != ")"
            continue
        if word == "(" and re.match(r"^[A-Za-z_][A-Za-z0-9_]*\+?=$", previous):
            array = True
            continue
        previous = word
        if not word:
            continue  # ''
        if word == "\n" or set(word) <= set(";&|()"):
            at_start, wrapped = True, False
            continue
        if not at_start:
            continue
        if word in SHELL_PREFIXES or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\+?=", word):
            continue  # the command follows: after a keyword, or after an assignment
        if wrapped and (word.startswith("-") or re.fullmatch(r"[0-9.]+[smhd]?", word)):
            continue  # the wrapper's options
        name = word.rsplit("/", 1)[-1]
        wrapped = name in WRAPPERS
        at_start = wrapped
        if word not in SHELL_STATEMENTS and not word.startswith("$") and COMMAND_NAME.match(name):
            names.add(name)
    return names


def _argv0(argv: object) -> str | None:
    """The program of an argv: a literal list, or the first quoted word of a Jinja list expression."""
    if isinstance(argv, list) and argv and isinstance(argv[0], str):
        first = argv[0]
        if "{{" in first:
            return None  # a variable (a Python, a role's file): resolved at run time
        return first.rsplit("/", 1)[-1]
    if isinstance(argv, str):
        match = re.search(r"\[\s*['\"]([^'\"{}]+)['\"]", argv)
        return match.group(1).rsplit("/", 1)[-1] if match else None
    return None


def _walk_yaml(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "argv" and "unchanged_pattern" not in node:  # web_admin_commands: gradestack-web's
                name = _argv0(value)
                if name:
                    found.add(name)
            elif key in ("ansible.builtin.shell", "ansible.builtin.command") and isinstance(value, (str, dict)):
                cmd = value.get("cmd") if isinstance(value, dict) else value
                if isinstance(cmd, str):  # a Jinja expression in command position is a variable
                    found.update(shell_commands(re.sub(r"\{\{.*?\}\}", "$jinja", cmd, flags=re.DOTALL)))
            _walk_yaml(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk_yaml(item, found)
    elif isinstance(node, str):
        for match in re.finditer(r"(?:lookup|query)\(\s*['\"](?:ansible\.builtin\.)?pipe['\"]\s*,", node):
            # the command is an expression: keep its string literals, variables become a word
            depth, end = 1, match.end()
            while end < len(node) and depth:
                depth += {"(": 1, ")": -1}.get(node[end], 0)
                end += 1
            literals = re.findall(r"'([^']*)'|\"([^\"]*)\"", node[match.end() : end - 1])
            found.update(shell_commands(" word ".join(a or b for a, b in literals)))


def yaml_files() -> list[Path]:
    files: list[Path] = []
    for pattern in ("roles/*/tasks/*.yml", "roles/*/handlers/*.yml", "roles/*/defaults/*.yml",
                    "playbooks/**/*.yml", "molecule/**/*.yml", "*.yml", "inventories/**/*.yml"):  # fmt: skip
        files.extend(REPO.glob(pattern))
    return sorted(set(files))


class _YamlLoader(yaml.SafeLoader):
    pass


# Ansible's !unsafe and !vault tags: read as plain values.
_YamlLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def yaml_commands() -> set[str]:
    found: set[str] = set()
    for path in yaml_files():
        for document in yaml.load_all(path.read_text(), Loader=_YamlLoader):
            _walk_yaml(document, found)
    return found


PY_ROOTS = ("testsupport", "tests", "services", "bench", "scripts", "plugins", "molecule", "roles")
SUBPROCESS_CALLS = {"run", "Popen", "check_output", "check_call", "call"}


def python_commands() -> set[str]:
    found: set[str] = set()
    files = [p for root in PY_ROOTS for p in (REPO / root).rglob("*.py") if ".venv" not in p.parts]
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            module = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            first = node.args[0]
            if (
                module == "subprocess"
                and name in SUBPROCESS_CALLS
                and isinstance(first, (ast.List, ast.Tuple))
                and first.elts
            ):
                head = first.elts[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    found.add(head.value.rsplit("/", 1)[-1])
            elif name in ("which", "_tool") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def script_commands() -> set[str]:
    found: set[str] = set()
    scripts = [*REPO.glob("scripts/*.sh"), *REPO.glob("scripts/setup.d/*"), *REPO.glob("roles/*/files/*.sh")]
    scripts.append(REPO / ".ci" / "run")
    functions = set(FUNCTION_DEFINITION.findall((REPO / "scripts" / "lib.sh").read_text()))
    for path in scripts:
        functions.update(FUNCTION_DEFINITION.findall(path.read_text()))
        found.update(shell_commands(path.read_text()))
    found -= functions
    # Makefile recipes: the tab-indented lines, with make's $(VAR) and $$ undone.
    recipes = [line[1:] for line in (REPO / "Makefile").read_text().splitlines() if line.startswith("\t")]
    text = "\n".join(recipes).replace("$$", "$")
    text = re.sub(r"\$\(BIN\)/", "", text)
    text = re.sub(r"\$\((MAKE)\)", "make", text)
    text = re.sub(r"\$\([^)]*\)", "$make", text)
    found.update(shell_commands(text.replace("@", "")))
    return found


@pytest.fixture(scope="module")
def host_commands() -> dict[str, set[str]]:
    return {"yaml": yaml_commands(), "python": python_commands(), "shell": script_commands()}


# --- Tests ----------------------------------------------------------------------------------


def test_extraction_sees_the_commands_we_know_of(host_commands: dict[str, set[str]]) -> None:
    # If the extractors break, they find nothing and every other test passes: guard that.
    assert {"podman", "git", "tar", "timeout"} <= host_commands["yaml"]
    assert {"podman", "openssl", "gcc", "java", "git", "terraform"} <= host_commands["python"]
    assert {"podman", "debootstrap", "chroot", "terraform", "dpkg-query", "git"} <= host_commands["shell"]


def test_every_host_command_is_classified(host_commands: dict[str, set[str]]) -> None:
    unknown = {
        source: sorted(name for name in names if name not in HOST_COMMANDS) for source, names in host_commands.items()
    }
    unknown = {source: names for source, names in unknown.items() if names}
    assert not unknown, (
        f"commands run by the project that this test does not know: {unknown}. Add each to HOST_COMMANDS "
        'with its Debian package (dpkg -S "$(command -v NAME)"), and the package to APT_PACKAGES in '
        "scripts/setup.sh unless it is Essential/required; or mark it VENV, PROJECT, CONTAINER or NOT_DEBIAN."
    )


def test_every_needed_package_is_installed_by_setup() -> None:
    listed = set(apt_packages())
    markers = {VENV, PROJECT, CONTAINER, NOT_DEBIAN}
    needed = {pkg: f"runs {cmd}" for cmd, pkg in HOST_COMMANDS.items() if pkg not in markers}
    needed |= IMPLICIT_PACKAGES
    missing = {pkg: why for pkg, why in needed.items() if pkg not in listed and pkg not in ESSENTIAL}
    assert not missing, f"packages the project needs that scripts/setup.sh's APT_PACKAGES lacks: {missing}"


def test_podman_network_stack_is_in_setup() -> None:
    listed = set(apt_packages())
    for pkg in ("podman", "netavark", "aardvark-dns", "iptables"):
        assert pkg in listed, f"{pkg} missing from APT_PACKAGES: podman networks need it (container names in DNS)"


def test_ssh_connections_need_openssh_client() -> None:
    # Ansible's ssh connection runs the ssh client of the control node.
    uses_ssh = [
        path.relative_to(REPO)
        for path in [*REPO.glob("inventories/**/*.yml"), *REPO.glob("molecule/*/molecule.yml")]
        if re.search(r"ansible_connection:\s*ssh\b", path.read_text())
    ]
    assert uses_ssh, "no inventory uses ansible_connection: ssh any more: drop this test and IMPLICIT_PACKAGES' entry"
    assert "openssh-client" in apt_packages(), f"{uses_ssh} connect with ssh: add openssh-client to APT_PACKAGES"


def test_apt_packages_are_unique_and_explained() -> None:
    packages = apt_packages()
    assert len(packages) == len(set(packages)), f"duplicates in APT_PACKAGES: {packages}"
    block = re.search(r"^APT_PACKAGES=\(\n(.*?)^\)", SETUP.read_text(), re.MULTILINE | re.DOTALL).group(1)
    for line in block.splitlines():
        if line.split("#", 1)[0].strip():
            assert "#" in line, f"APT_PACKAGES line without a why-comment: {line.strip()!r}"


def test_shell_extractor_on_a_sample() -> None:
    sample = """
    set -euo pipefail
    # comment: rsync here is not a command
    out="$(git -C "$REPO" rev-parse HEAD)" || die "x"
    if ! command -v podman >/dev/null 2>&1; then apt-get install -y x; fi
    case "$1" in
      start | stop) local x=1; for f in a b; do :; done ;;
    esac
    FOO=1 /usr/bin/env A=b tar -C x -c . | podman import - img
    cat <<'PY'
    import this
    PY
    """
    assert shell_commands(sample) == {"git", "die", "apt-get", "env", "tar", "podman", "cat"}


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs Debian's dpkg-query")
def test_essential_table_matches_dpkg() -> None:
    version = Path("/etc/debian_version")
    if not version.exists() or not version.read_text().startswith("12"):
        pytest.skip("the ESSENTIAL table describes Debian 12")
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\n", *sorted(ESSENTIAL)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    seen = {fields[0]: fields[1:] for fields in (line.split() for line in out.splitlines()) if len(fields) == 3}
    wrong = {pkg: seen.get(pkg) for pkg in ESSENTIAL if seen.get(pkg) not in (["yes", "required"], ["no", "required"])}
    assert not wrong, f"not Essential/required on this Debian 12 (or not installed): {wrong}"
