"""``web``: the reading station in a browser (needs the ``web`` extra: ``pip install "pentixaforquant[web]"``).

Binds to 127.0.0.1 unless ``--host`` says otherwise; on any other address (or with ``--require-token``) an access
token is generated, printed with the address, and required by the server from every connecting page
(``?secret=TOKEN`` in the address; checked by the websocket handshake before any message is handled).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_token(host: str, *, require_token: bool = False) -> str | None:
    """A new random access token when the server binds beyond loopback (or one is asked for), else None."""
    return secrets.token_urlsafe(18) if require_token or not is_loopback(host) else None


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
    out = args.out or "reading-output"
    worklist = Worklist.single(args.dicom_dir, out) if args.dicom_dir else Worklist.from_path(args.worklist, out)
    token = access_token(args.host, require_token=args.require_token)
    from ..web.app import ReadingStation

    station = ReadingStation(worklist)
    station.open_study(0)
    shown = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host  # all interfaces: name one
    url = f"http://{shown}:{args.port}/"
    if token:
        where = "this machine only" if is_loopback(args.host) else "beyond this machine"
        print(f"Serving on {args.host} ({where}): an access token is required.", flush=True)
        print(f"Open {url}?secret={token}", flush=True)
    else:
        print(f"Open {url} (this machine only)", flush=True)
    count = len(worklist.studies)
    print(f"{count} {'study' if count == 1 else 'studies'}; outputs under {worklist.out_dir}", flush=True)
    # trame reads its options from the command line: give it exactly ours (the token never reaches /proc).
    argv = sys.argv
    sys.argv = [argv[0], "--server", "--host", args.host, "--port", str(args.port)]
    if token:
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
                   help="address to bind (default 127.0.0.1; any other address requires the printed token)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--require-token", action="store_true",
                   help="require the printed access token on loopback too (e.g. on a shared machine)")
    p.set_defaults(func=cmd_web)
