"""What the operator configures, read and checked before anything starts.

settings.py   deployment settings and secrets from the environment (and a .env file)
units.py      durations, sizes and comparisons as rules.yaml writes them
files.py      reading a file the operator named, without trusting it
yamlfile.py   rules.yaml read as YAML, bounded, every value with its line
schema.py     the rules.yaml schema (pydantic) and the names a rule may use
checks.py     everything `modbot check-rules` checks, as FILE:LINE: message
words.py      how those messages name values and choices, and cut a long one ("…")
policy.py     Policy: the validated rules.yaml with its hash lists (load_policy)
"""
