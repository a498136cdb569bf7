"""`modbot demo` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot demo: not built yet") or 2)
