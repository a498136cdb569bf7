"""modbot: an automoderator for Lemmy that finds abusive images and acts by YAML rules."""

__version__ = "0.1.0"
