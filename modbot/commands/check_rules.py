"""`modbot check-rules` (placeholder until its issue lands)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check-rules", help="(not built yet)")
    p.set_defaults(func=lambda args: print("modbot check-rules: not built yet") or 2)
