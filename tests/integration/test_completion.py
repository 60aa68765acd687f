"""Shell completion: completion/pystack.bash and completion/_pystack.

bash: the script is sourced in a non-interactive `bash --norc` (alone, and
after bash-completion), and _pystack is called with COMP_WORDS, COMP_CWORD,
COMP_LINE and COMP_POINT set as bash sets them; COMPREPLY is printed.
zsh: an interactive `zsh -f` runs on a pseudo-terminal with compinit and the
script first in fpath; a compadd wrapper writes every match that completion
adds to a file, and a TAB on a typed line completes it.

What is expected comes from pystack itself: the options from each command's
--help, the values of --format and --color from the words of their help that
pystack accepts, so the scripts cannot drift from the binary.  PIDs: a Python
target must be offered, an embedded one (a shared libpython run from a copy of
its interpreter named host-app) too, and a `sleep` must not.
"""
import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

import pytest

from harness import ROOT, run_pystack
import pythons

BASH_SCRIPT = os.path.join(ROOT, "completion", "pystack.bash")
ZSH_DIR = os.path.join(ROOT, "completion")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
NOT_A_CORE = "/nonexistent/core"


# --- what pystack says --------------------------------------------------------

def help_options(*command):
    """The options of a --help listing, each mapped to whether it takes a value:
    {"--format": True, "-f": True, "--json": False, ...}."""
    opts = {}
    for line in run_pystack(*command, "--help").stdout.splitlines():
        m = re.match(r"^ {2,}(-.*?)(?: {2,}|$)", line)
        if m:
            names = re.findall(r"(--?[?A-Za-z][A-Za-z-]*)", m.group(1))
            opts.update((n, "=" in m.group(1)) for n in names)
    assert opts, "no options found in pystack %s --help" % " ".join(command)
    return opts


def help_commands():
    out = run_pystack("--help").stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0] for line in block.splitlines() if line.strip()}


def expected_options(command, pid):
    """The options of COMMAND --help, less the flags COMMAND refuses outright
    (exit 64: core lists the live-process options, then rejects them).  PID is
    a process that is not Python, for dump and watch to fail on after parsing."""
    opts = help_options(command)
    arg = NOT_A_CORE if command == "core" else str(pid)
    return {o for o, takes_value in opts.items()
            if takes_value or o in ("--help", "--usage", "--version", "-?", "-V")
            or run_pystack(command, o, arg).returncode != 64}


def accepted_values(opt):
    """The words of OPT's help text that pystack accepts as its value."""
    text = run_pystack("dump", "--help").stdout
    m = re.search(r"^ .*%s\b.*\n((?: {20,}.*\n)*)" % re.escape(opt), text, re.M)
    assert m, opt
    words = set(re.findall(r"[a-z]+", m.group(0).split(opt, 1)[1]))
    good = {w for w in words
            if run_pystack("core", "%s=%s" % (opt, w), NOT_A_CORE).returncode != 64}
    assert good, "no value of %s found in its help" % opt
    assert run_pystack("core", "%s=bogus" % opt, NOT_A_CORE).returncode == 64
    return good


# --- targets ------------------------------------------------------------------

def _interpreter():
    found = pythons.discover()
    return found[-1].exe if found else sys.executable


@pytest.fixture(scope="module")
def processes():
    """A Python process, a Python embedded in a program not named python (when a
    shared libpython is found), and a process that is not Python."""
    procs = {}
    tmp = tempfile.TemporaryDirectory(prefix="pystack-completion-")
    started = []
    try:
        py = subprocess.Popen([_interpreter(), "-c", "import time; time.sleep(60)",
                               "completion-target"], stdin=subprocess.DEVNULL)
        started.append(py)
        procs["python"] = py.pid
        sleep = subprocess.Popen(["sleep", "60"])
        started.append(sleep)
        procs["other"] = sleep.pid
        shared = [p for p in pythons.discover() if p.libpython and not p.free_threaded]
        if shared:
            p = shared[-1]
            host = os.path.join(tmp.name, "host-app")
            shutil.copy(p.exe, host)
            env = dict(os.environ, PYTHONHOME=os.path.dirname(os.path.dirname(p.exe)),
                       LD_LIBRARY_PATH=os.path.dirname(p.libpython))
            emb = subprocess.Popen([host, "-c", "import time; time.sleep(60)"], env=env,
                                   stdin=subprocess.DEVNULL)
            started.append(emb)
            procs["embedded"] = emb.pid
        # Wait until each has exec'd and the embedded one has mapped libpython.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                ok = os.readlink("/proc/%d/exe" % procs["python"]).rsplit("/", 1)[1].startswith(
                    "python") and os.readlink("/proc/%d/exe" % procs["other"]).endswith("sleep")
                if "embedded" in procs:
                    ok = ok and "/libpython" in open("/proc/%d/maps" % procs["embedded"]).read()
            except OSError:
                ok = False
            if ok:
                break
            time.sleep(0.02)
        yield procs
    finally:
        for p in started:
            p.kill()
            p.wait()
        tmp.cleanup()


# --- bash ---------------------------------------------------------------------

def bash_words(line):
    """COMP_WORDS as bash makes them of LINE (cursor at the end): split at
    blanks, '=' a word of its own, an empty last word after a blank."""
    words = re.findall(r"[^\s=]+|=", line)
    if not line or line[-1].isspace():
        words.append("")
    return words


def bash_complete(lines, with_bash_completion=False, equals_breaks=True):
    """COMPREPLY for each line, from one bash."""
    script = []
    if with_bash_completion:
        script.append("source %s" % shlex.quote(BASH_COMPLETION))
    script.append("source %s" % shlex.quote(BASH_SCRIPT))
    script.append('q() { COMPREPLY=(); "$@"; printf "%s\\n" "${COMPREPLY[@]}"; echo "<<end>>"; }')
    for line in lines:
        words = bash_words(line) if equals_breaks else re.findall(r"\S+", line) + (
            [""] if line[-1].isspace() else [])
        script.append("COMP_WORDBREAKS=%s" % shlex.quote(
            "\"'><=;|&(:" if equals_breaks else "\"'><;|&(:"))
        script.append("COMP_LINE=%s COMP_POINT=%d COMP_CWORD=%d" % (
            shlex.quote(line), len(line), len(words) - 1))
        script.append("COMP_WORDS=(%s)" % " ".join(shlex.quote(w) for w in words))
        script.append("q _pystack pystack %s %s" % (shlex.quote(words[-1]),
                                                    shlex.quote(words[-2])))
    r = subprocess.run(["/bin/bash", "--norc", "-c", "\n".join(script)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and not r.stderr, r.stderr
    out = r.stdout.split("<<end>>\n")
    assert len(out) == len(lines) + 1, r.stdout
    return [set(filter(None, o.split("\n"))) for o in out[:-1]]


def bash(with_bash_completion, equals_breaks):
    if with_bash_completion and not os.path.exists(BASH_COMPLETION):
        pytest.skip("bash-completion not installed (%s)" % BASH_COMPLETION)

    def complete(*lines):
        return bash_complete(lines, with_bash_completion, equals_breaks)
    complete.equals_breaks = equals_breaks
    return complete


# --- zsh ----------------------------------------------------------------------

ZSH_SETUP = r"""
PS1='%% ' PROMPT2='' RPS1=''
LISTMAX=100000
setopt NO_LIST_AMBIGUOUS NO_BEEP
fpath=(%(dir)s $fpath)
autoload -Uz compinit && compinit -u -D
compadd() {
	# Calls that only ask (-O, -A, -D store matches, add none) go straight through.
	if (( ${@[(I)-[OAD]*]} )); then
		builtin compadd "$@"
		return
	fi
	local -a __hits
	builtin compadd -A __hits "$@"
	(( $#__hits )) && print -rl -- $__hits >> %(capture)s
	builtin compadd "$@"
}
_capture_complete() {
	_main_complete
	local r=$?
	print -r -- '<<end>>' >> %(capture)s
	return r
}
zle -C capture-complete complete-word _capture_complete
bindkey '^I' capture-complete
print -r -- '<<end>>' >> %(capture)s
"""


class Zsh:
    """An interactive zsh -f on a pseudo-terminal, completing typed lines."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pystack-zsh-")
        self.capture = os.path.join(self.tmp.name, "capture")
        setup = os.path.join(self.tmp.name, "setup.zsh")
        with open(setup, "w") as f:
            f.write(ZSH_SETUP % {"dir": shlex.quote(ZSH_DIR), "capture": shlex.quote(self.capture)})
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 500, 250, 0, 0))
        env = dict(os.environ, HOME=self.tmp.name, TERM="dumb", ZDOTDIR=self.tmp.name)
        self.proc = subprocess.Popen(["zsh", "-f", "-i"], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, start_new_session=True,
                                     cwd=self.tmp.name)
        os.close(slave)
        self.screen = b""
        try:
            self._run(b"source %s\n" % setup.encode())
        except BaseException:
            self.close()
            raise

    def _drain(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                self.screen += os.read(self.master, 65536)
            except OSError:
                pass

    def _run(self, keys, timeout=15):
        """Type KEYS; the capture file's content once '<<end>>' is written."""
        open(self.capture, "w").close()
        os.write(self.master, keys)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._drain(0.01)
            with open(self.capture) as f:
                text = f.read()
            if text.endswith("<<end>>\n"):
                return text[:-len("<<end>>\n")]
            if self.proc.poll() is not None:
                break
        raise AssertionError("zsh did not finish %r; terminal: %r" % (keys, self.screen[-2000:]))

    def complete(self, line):
        """The matches completion adds for LINE (cursor at the end)."""
        self.screen = b""
        hits = self._run(line.encode() + b"\t")
        os.write(self.master, b"\x15")    # ^U: kill the whole line for the next one
        self._drain(0.05)
        return set(filter(None, hits.split("\n")))

    def wait_for(self, text, timeout=10):
        """Whether TEXT is drawn on the terminal (zle draws a listing after
        the completion widget has returned)."""
        deadline = time.time() + timeout
        while text not in self.screen and time.time() < deadline:
            self._drain(0.05)
        return text in self.screen

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def zsh_session():
    if not shutil.which("zsh"):
        pytest.skip("zsh not installed")
    z = Zsh()
    try:
        yield z
    finally:
        z.close()


def zsh(session):
    def complete(*lines):
        return [session.complete(line) for line in lines]
    complete.equals_breaks = True
    complete.session = session
    return complete


@pytest.fixture(params=["bash", "bash-no-equals-break", "bash-completion", "zsh"])
def shell(request):
    """Completes lines in each shell: bash alone, bash with '=' not in
    COMP_WORDBREAKS, bash with bash-completion loaded, zsh."""
    if request.param == "zsh":
        return zsh(request.getfixturevalue("zsh_session"))
    return bash(request.param == "bash-completion", request.param != "bash-no-equals-break")


def options_of(got):
    """The option names among the matches (a zsh --color= is --color)."""
    return {w.rstrip("=").replace("\\", "") for w in got if w.startswith("-")}


# --- tests --------------------------------------------------------------------

def test_commands(shell):
    (got,) = shell("pystack ")
    assert got == help_commands()
    (got,) = shell("pystack w")
    assert got == {"watch"}


def test_global_options(shell):
    (got,) = shell("pystack -")
    assert options_of(got) == set(help_options())


@pytest.mark.parametrize("command", sorted(help_commands()))
def test_options_follow_help(shell, command, processes):
    """Drift check: each command's options are those of its --help, long and short."""
    dash, dashdash = shell("pystack %s -" % command, "pystack %s --" % command)
    want = expected_options(command, processes["other"])
    assert options_of(dash | dashdash) == want
    assert options_of(dashdash) == {o for o in want if o.startswith("--")}


def test_option_values(shell, processes):
    formats = accepted_values("--format")
    colors = accepted_values("--color")
    lines = ["pystack dump --format=", "pystack dump --format ", "pystack dump -f ",
             "pystack watch --format=j", "pystack dump --color=", "pystack core --colour=a",
             "pystack watch --interval ", "pystack watch --stuck="]
    got = shell(*lines)
    if not shell.equals_breaks:
        got = [{w.split("=", 1)[1] if "=" in w else w for w in g} for g in got]
    assert got[0] == got[1] == got[2] == formats
    assert got[3] == {f for f in formats if f.startswith("j")}
    assert got[4] == colors
    assert got[5] == {c for c in colors if c.startswith("a")}
    for durations in got[6:]:
        assert durations
        for d in durations:    # each example is a duration pystack takes
            assert run_pystack("watch", "--interval", d, "--count=1",
                               processes["other"]).returncode != 64, d


def test_color_value_only_after_equals(shell, processes):
    """--color takes an optional value: after '--color ' comes a PID."""
    (got,) = shell("pystack dump --color ")
    assert str(processes["python"]) in got and not got & {"auto", "always", "never"}


def test_python_pids(shell, processes):
    got = shell("pystack dump ", "pystack watch ", "pystack dump -- ",
                "pystack dump %d " % processes["python"], "pystack watch %d " % processes["python"])
    for g in got[:3]:
        assert str(processes["python"]) in g
        assert str(processes["other"]) not in g
        assert all(p.isdigit() for p in g), g
        if "embedded" in processes:
            assert str(processes["embedded"]) in g
    assert str(processes["python"]) not in got[3]      # dump: not twice
    assert not {w for w in got[4] if w.isdigit()}      # watch takes one PID
    # Every PID offered is a Python process by the definition.
    for pid in got[0]:
        try:
            exe = os.readlink("/proc/%s/exe" % pid)
            maps = open("/proc/%s/maps" % pid).read()
        except OSError:
            continue    # gone since
        assert os.path.basename(exe).startswith("python") or "/libpython" in maps, (pid, exe)


def test_zsh_describes_pids(zsh_session, processes):
    zsh_session.complete("pystack dump ")
    assert zsh_session.wait_for(b"completion-target"), zsh_session.screen


def test_core_files(shell, tmp_path):
    core = tmp_path / "core.4242"
    core.write_bytes(b"")
    (tmp_path / "sub").mkdir()
    base = str(tmp_path) + "/"
    got = shell("pystack core " + base, "pystack core %s %s" % (core, base), "pystack core %s %s " % (core, core),
                "pystack core --sysroot=" + base, "pystack watch --flamegraph=" + base)
    names = [{os.path.basename(w.rstrip("/")) for w in g} for g in got]
    assert {"core.4242", "sub"} <= names[0]
    assert {"core.4242", "sub"} <= names[1]
    assert not {w for w in got[2] if not w.startswith("-")}   # COREFILE, EXECUTABLE, then no file
    assert names[3] == {"sub"}
    assert {"core.4242", "sub"} <= names[4]
