#!/usr/bin/env python3
"""Checks that deploy/Dockerfile's runtime stages install every shared library the binaries load.

For each target stage with an ENTRYPOINT (one per executable), runs `ldd` on that executable
(from BIN_DIR, default .build/debug: the Swift runtime libraries it loads there are linked
statically into the images with --static-swift-stdlib, so they are left out), maps each library
to its Debian package (`dpkg -S`), and requires the package to be installed by the stage or the
stages it is built FROM, directly or as a dependency (`apt-cache depends --recurse`), or to be
libc6 (in every Debian image). The machines this runs on are Debian 12 like the runtime image,
so package names agree.

Usage: scripts/check-image-libs.py [BIN_DIR]. Exit 0 with one line per target, 1 with the
missing packages.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BASE = {"libc6"}


def stages() -> dict[str, dict]:
    """Stage name → {parent, packages, entrypoint} from the Dockerfile."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(2)
            result[current] = {"parent": match.group(1), "packages": set(), "entrypoint": None}
            continue
        if current is None:
            continue
        if line.startswith("RUN") and "apt-get install" in line:
            for command in line.split("&&"):
                if "apt-get install" in command:
                    words = command.split("apt-get install", 1)[1].split()
                    result[current]["packages"].update(w for w in words if not w.startswith("-"))
        match = re.match(r'ENTRYPOINT\s+\["([^"]+)"', line)
        if match:
            result[current]["entrypoint"] = match.group(1)
    return result


def installed(name: str, all_stages: dict[str, dict]) -> set[str]:
    packages: set[str] = set()
    while name in all_stages:
        packages |= all_stages[name]["packages"]
        name = all_stages[name]["parent"]
    return packages


def closure(packages: set[str]) -> set[str]:
    output = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
         "--no-breaks", "--no-replaces", "--no-enhances", *sorted(packages)],
        check=True, capture_output=True, text=True).stdout
    names = {line.strip() for line in output.splitlines() if line and not line.startswith(" ")}
    return {name.split(":")[0] for name in names if not name.startswith("<")} | packages


def package_of(path: str) -> str | None:
    candidates = [path, str(Path(path).resolve())]
    candidates += ["/usr" + c for c in candidates if not c.startswith("/usr/")]
    for candidate in candidates:
        answer = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if answer.returncode == 0:
            return answer.stdout.split(":")[0].strip()
    return None


def libraries(binary: Path) -> list[str]:
    output = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    paths = []
    for line in output.splitlines():
        match = re.search(r"=>\s+(/\S+)", line)
        if match and "/swift" not in match.group(1):
            paths.append(match.group(1))
    return paths


def main() -> int:
    bin_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".build" / "debug"
    all_stages = stages()
    problems = []
    targets = {name: stage for name, stage in all_stages.items() if stage["entrypoint"]}
    if not targets:
        print("check-image-libs: no target stage with an ENTRYPOINT in deploy/Dockerfile")
        return 1
    for name, stage in sorted(targets.items()):
        binary = bin_dir / stage["entrypoint"]
        if not binary.exists():
            problems.append(f"{name}: {binary} missing (build first: swift build)")
            continue
        available = closure(installed(name, all_stages)) | BASE
        needed: dict[str, str] = {}
        for path in libraries(binary):
            package = package_of(path)
            if package is None:
                problems.append(f"{name}: {path} belongs to no Debian package")
            else:
                needed.setdefault(package, path)
        missing = sorted(set(needed) - available)
        for package in missing:
            problems.append(f"{name}: loads {needed[package]} from {package}, which the stage does not install")
        print(f"{name}: {len(needed)} packages loaded ({', '.join(sorted(needed))}): "
              f"{'all installed' if not missing else 'MISSING ' + ', '.join(missing)}")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"check-image-libs: OK, {len(targets)} targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
