"""``scratchnet report OUT``: (re)build the report page of a run folder."""

from pathlib import Path

from ..report import REPORT_NAME, write_report
from ._common import CLIError


def add_report(sub):
    p = sub.add_parser("report", help=f"(re)build {REPORT_NAME} of a run folder from its "
                                      "metrics.json and figures")
    p.add_argument("folder", help="the --out folder of a run (an example or a subcommand)")
    p.set_defaults(func=cmd_report)


def cmd_report(args):
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CLIError(f"{folder}: expected a run's folder, got "
                       f"{'a file' if folder.exists() else 'nothing (no such folder)'}")
    path = write_report(folder)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB); open it in a browser")
    return 0
