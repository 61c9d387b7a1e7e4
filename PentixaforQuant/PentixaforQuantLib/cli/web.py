"""``web``: the reading station in a browser (needs the ``web`` extra: ``pip install "pentixaforquant[web]"``).

Binds to 127.0.0.1 unless ``--host`` says otherwise. Every start makes a new access token, loopback included, and
prints the address to open with it (``?secret=TOKEN``), as notebook servers do; the server requires it from every
connecting page and refuses pages of other origins (``web/security.py``). The port is checked (a number from 1 to
65535, free on the address) before anything is loaded or printed.
"""

from __future__ import annotations

import ipaddress
import socket
import sys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Refuse (one line) a port that is not a TCP port number or that another program holds on ``host``."""
    from ..errors import ParameterError

    if not 1 <= port <= 65535:
        raise ParameterError(f"--port {port}: must be a TCP port number from 1 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ParameterError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def cmd_web(args) -> int:
    from ..errors import PentixaforQuantError
    from ..web.worklist import Worklist

    try:
        import trame_slicer  # noqa: F401
    except ImportError:
        raise PentixaforQuantError('the web reading station needs the web extra: pip install "pentixaforquant[web]"') \
            from None
    if (args.dicom_dir is None) == (args.worklist is None):
        raise PentixaforQuantError("give either a DICOM folder or --worklist (a folder of studies or a manifest CSV)")
    check_port(args.host, args.port)
    out = args.out or "reading-output"
    worklist = Worklist.single(args.dicom_dir, out) if args.dicom_dir else Worklist.from_path(args.worklist, out)
    from ..web.app import ReadingStation
    from ..web.saving import remove_stale_folders
    from ..web.security import new_token, protect

    removed = remove_stale_folders(worklist.out_dir)
    if removed:
        print(f"removed {removed} unfinished save folder{'s' if removed > 1 else ''} left by a stopped server",
              flush=True)

    token = new_token()
    station = ReadingStation(worklist)
    protect(station.server, token)
    station.open_study(0)
    shown = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host  # all interfaces: name one
    if ":" in shown:
        shown = f"[{shown}]"
    where = "this machine only" if is_loopback(args.host) else "beyond this machine"
    print(f"Serving on {args.host} ({where}); open this address (it holds the access token):", flush=True)
    print(f"Open http://{shown}:{args.port}/?secret={token}", flush=True)
    count = len(worklist.studies)
    print(f"{count} {'study' if count == 1 else 'studies'}; outputs under {worklist.out_dir}", flush=True)
    # trame reads its options from the command line: give it exactly ours (the token never reaches /proc).
    argv = sys.argv
    sys.argv = [argv[0], "--server", "--host", args.host, "--port", str(args.port)]
    sys.argv += ["--authKey", token]
    try:
        station.server.start(open_browser=False, show_connection_info=False, timeout=0)
    finally:
        sys.argv = argv
    return 0


def register(sub) -> None:
    p = sub.add_parser("web", help="read studies in a browser on real Slicer views (needs the web extra)")
    p.add_argument("dicom_dir", nargs="?", help="one PET DICOM folder")
    p.add_argument("--worklist", help="a folder of study folders, or a manifest CSV (study_id,dicom,...)")
    p.add_argument("--out", help="output folder (default: reading-output); one folder per study")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only); the printed address holds the "
                        "access token the page needs, on any address")
    p.add_argument("--port", type=int, default=8080, help="TCP port (1-65535; default 8080)")
    p.set_defaults(func=cmd_web)
