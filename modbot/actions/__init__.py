"""Carrying out what the rules decided.

kinds.py      the action table: every kind a rule can ask for (removal? destructive?
              once per item?), in the order one rule's actions are planned
executor.py   the Executor: each action once (claim, send, record), never on an admin,
              dry-run aware, settled by asking Lemmy after a crash
valve.py      the safety valve: more destructive actions an hour than allowed -> report-only
notices.py    the admins' private messages, one per admin per batch
"""
