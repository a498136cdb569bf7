"""`modbot healthcheck` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("healthcheck", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot healthcheck: not built yet") or 2)
