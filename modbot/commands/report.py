"""`modbot report` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot report: not built yet") or 2)
