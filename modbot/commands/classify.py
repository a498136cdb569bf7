"""`modbot classify` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("classify", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot classify: not built yet") or 2)
