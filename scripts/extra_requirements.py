"""Print the requirements of the project's core and the given extras, one per line, from pyproject.toml.

The images install their dependencies from this list before the sources are copied in, so a code
change reuses the cached dependency layer. With --pinned REPORT it prints instead the exact
`name==version` set of a `pip install --dry-run --report` (the list resolved against the lock): a
lock change that does not touch an image's packages then keeps its cached layer too.
Standard library only: it runs in a bare base image.
Usage: python3 scripts/extra_requirements.py api [--no-core] | --pinned report.json
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(project: dict, extras: list[str], core: bool = True) -> list[str]:
    """Core dependencies (unless `core` is false) plus each extra's, self-references expanded."""
    name = project["name"]
    optional = project.get("optional-dependencies", {})
    found = list(project.get("dependencies", [])) if core else []
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"no extra {extra!r} in {PYPROJECT.name}")
        seen.add(extra)
        for requirement in optional[extra]:
            self_reference = re.fullmatch(rf"{re.escape(name)}\[(.+)\]", requirement.replace(" ", ""))
            if self_reference:
                pending += self_reference.group(1).split(",")
            elif requirement not in found:
                found.append(requirement)
    return found


def pinned(report: dict) -> list[str]:
    """`name==version` of every package a pip installation report would install, sorted."""
    items = (item["metadata"] for item in report["install"])
    return sorted((f"{meta['name']}=={meta['version']}" for meta in items), key=str.lower)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", help="extras of pyproject.toml, e.g. api")
    parser.add_argument("--no-core", action="store_true", help="leave out the core dependencies")
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT)
    parser.add_argument("--pinned", type=Path, metavar="REPORT", help="a pip --report file to pin from")
    args = parser.parse_args(argv)
    if args.pinned:
        print("\n".join(pinned(json.loads(args.pinned.read_text()))))
        return
    if not args.extras:
        parser.error("name at least one extra (or give --pinned)")
    project = tomllib.loads(args.pyproject.read_text())["project"]
    print("\n".join(requirements(project, args.extras, core=not args.no_core)))


if __name__ == "__main__":
    main()
