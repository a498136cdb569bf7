"""`modbot run` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot run: not built yet") or 2)
