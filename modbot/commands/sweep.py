"""`modbot sweep` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot sweep: not built yet") or 2)
