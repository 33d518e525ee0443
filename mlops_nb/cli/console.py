"""`mlops console`: serve the Streamlit ops console on a store.

    mlops console                                   # the default store, http://127.0.0.1:8501
    mlops console --db sqlite:///.demo/mlops.db --port 8601
    mlops console --host 0.0.0.0                    # other machines too: put TLS in front of it

The store is opened first (created or migrated, as `mlops.init` opens it), so a wrong `--db` is a
one-line error rather than a console full of error boxes. Then `python -m streamlit run` serves
mlops_nb/console/app.py in a child process, with MLOPS_DB_URL set for it alone: the URL (and any
password in it) goes through the environment, never a command line that `ps` shows. It listens on
127.0.0.1, this machine only, unless `--host` says otherwise, and says so at start; a port that is
taken is a one-line error (never a silent move to the next port); Ctrl-C stops it.
"""
from __future__ import annotations

import argparse
import errno
import ipaddress
import signal
import socket
import subprocess
import sys
from pathlib import Path

from mlops_nb.cli.base import command, open_engine
from mlops_nb.config import child_environment
from mlops_nb.services.errors import Conflict, InvalidInput

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
STOP_TIMEOUT_S = 10  # how long Streamlit gets to stop after Ctrl-C before it is killed


def app_path() -> Path:
    """The console's entry point, mlops_nb/console/app.py (found without importing Streamlit)."""
    return Path(__file__).resolve().parents[1] / "console" / "app.py"


def is_local(host: str) -> bool:
    """True when `host` is a loopback address or `localhost`: nobody else can connect."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Nothing when `port` can be listened on at `host` now (bound with SO_REUSEADDR, as Streamlit's
    server binds, and released at once).

    Raises:
        InvalidInput: the port is not from 1 to 65535, or the host cannot be listened on here (not an
            address of this machine, a name that does not resolve, a port that needs root).
        Conflict: another program listens on that port.
    """
    if not 1 <= port <= 65535:
        raise InvalidInput(f"--port {port} is not a port number (1 to 65535)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise InvalidInput(f"--host {host!r} does not resolve to an address ({err.strerror})") from err
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise Conflict(f"port {port} on {host} is taken: another program listens there; pick another "
                               f"with --port (e.g. --port {port + 1})") from err
            raise InvalidInput(f"cannot listen on {host}:{port} ({err.strerror}); check --host and --port") from err


def streamlit_command(host: str, port: int) -> list[str]:
    """The child's argv: Streamlit on the console app, headless, no usage statistics, no file
    watcher (the console's code does not change while it serves). Holds no secret."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal"]


def _stop(child: subprocess.Popen[bytes]) -> int:
    """Stop the Streamlit child (SIGTERM, then SIGKILL after STOP_TIMEOUT_S); its exit status."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        return child.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_console(args: argparse.Namespace) -> int:
    """Serve the ops console on the store at http://HOST:PORT (127.0.0.1:8501, this machine only); Ctrl-C stops it.

    Example: mlops console --db sqlite:///.demo/mlops.db --port 8601

    Raises:
        Conflict: the port is taken; the store's schema is newer than this code.
        InvalidInput: a bad port or host; a store that cannot be opened or created.
    """
    from mlops_nb.config import redact_url

    engine = open_engine(args)  # created or migrated now: a wrong --db fails here, in one line
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()  # the console opens its own; this process keeps no connection
    check_port(args.host, args.port)
    where = ("this machine only; --host 0.0.0.0 serves other machines" if is_local(args.host)
             else "reachable from other machines: put TLS and a firewall in front of it")
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"mlops console: store {redact_url(url)}")
    print(f"mlops console: listening on http://{shown_host}:{args.port} ({where}). Ctrl-C stops it.", flush=True)
    child = subprocess.Popen(streamlit_command(args.host, args.port), env=child_environment(MLOPS_DB_URL=url))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` stops the child too, as Ctrl-C does
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C: the terminal signalled the child too; make sure it ends
        _stop(child)
        print("mlops console: stopped", file=sys.stderr)
        return 0
    finally:
        if child.poll() is None:
            _stop(child)


def _console_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 for every machine)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")


command("console")(_console_args)(cmd_console)
