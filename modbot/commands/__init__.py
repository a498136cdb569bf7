"""One module per `modbot` subcommand. Each exposes ``add_parser(subparsers)``.

Command modules must import cheaply (no torch at module level): `modbot --help` and
`modbot check-rules` should not pay for loading a model.
"""

# Order is the order `modbot --help` lists them in.
NAMES = [
    "init",
    "run",
    "sweep",
    "report",
    "demo",
    "check_rules",
    "classify",
    "worker",
    "healthcheck",
    "doctor",
    "audit",
    "undo",
]
