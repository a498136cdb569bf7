"""The files an instance's modbot starts from, shipped inside the package
(``modbot/defaults/``), and ``modbot init`` writing them into a folder.

    rules.yaml        the commented default policy (docs/rules.md is its reference)
    hashes/*.sha256, hashes/*.phash
                      the hash lists rules.yaml names, empty but for their comments
    .env              the settings template (.env.example in a checkout), owner-only

A source checkout's top-level ``rules.yaml``, ``hashes/`` and ``.env.example`` are links
to these, so there is one copy; a wheel carries them as package data.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from modbot.errors import ConfigError

__all__ = ["defaults_dir", "shipped_rules", "starter_files", "write_starter"]


def defaults_dir() -> Path:
    """The shipped defaults, on disk beside the package's modules."""
    return Path(__file__).resolve().parent / "defaults"


def shipped_rules() -> Path:
    """The shipped rules.yaml (its hashes/ folder beside it)."""
    return defaults_dir() / "rules.yaml"


def starter_files() -> dict[str, Path]:
    """Name in the target folder -> the shipped file it is a copy of."""
    root = defaults_dir()
    files = {"rules.yaml": root / "rules.yaml", ".env": root / "env.example"}
    for path in sorted((root / "hashes").iterdir()):
        if path.is_file():
            files[f"hashes/{path.name}"] = path
    return files


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the starter files into ``directory`` (made if missing); the paths written.
    Nothing is written when one of them exists already, unless ``force``, nor when one
    of their paths is a link to nothing, even with ``force``."""
    files = starter_files()
    # A link to nothing in a file's place (a .env linked to a secrets file not made yet)
    # would be written through, out of the folder: say so before anything, force or not.
    paths = {directory / name for name in files}
    paths |= {
        folder for path in paths for folder in path.parents if folder.is_relative_to(directory)
    }
    dangling = sorted(p for p in paths if p.is_symlink() and not p.exists())
    if dangling:
        links = ", ".join(
            f"{p} (a link to {os.readlink(p)}, which does not exist)" for p in dangling
        )
        raise ConfigError(
            f"{links}: modbot init would create what it points to; nothing was written. "
            "Remove the link (or create what it points to), or give another DIR"
        )
    # A file where a folder goes would stop the writing halfway: say so before any.
    in_the_way = sorted(
        {
            str(folder)
            for name in files
            for folder in [directory, *(directory / name).parents]
            if folder.is_relative_to(directory) and folder.exists() and not folder.is_dir()
        }
    )
    if in_the_way:
        raise ConfigError(
            f"{', '.join(in_the_way)} is a file where modbot init puts a folder: nothing was "
            "written. Move it away, or give another DIR"
        )
    if not force:
        there = [name for name in files if (directory / name).exists()]
        if there:
            raise ConfigError(
                f"{directory} already has {', '.join(there)}: nothing was written. Keep "
                "yours, or give --force to replace them with the shipped defaults (a "
                "filled hash list or .env is lost then: copy them first)"
            )
    written = []
    try:
        for name, source in files.items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if name == ".env":
                # It will hold the bot's password: owner-only from the first byte.
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(source.read_bytes())
                os.chmod(target, 0o600)
            else:
                shutil.copyfile(source, target)
            written.append(target)
    except OSError as exc:
        if not force:  # none of them was there before: leave none of them half done
            for path in written:
                path.unlink(missing_ok=True)
        what = "nothing was written" if not force else "some were replaced"
        raise ConfigError(
            f"cannot write {exc.filename or directory}: {exc.strerror} ({what})"
        ) from None
    return written
