"""Measure the import graph between esl_controller's top-level packages and find its cycles.

    .venv/bin/python tools/import_graph.py            # edges, then every cycle with its imports
    .venv/bin/python tools/import_graph.py --check    # exit 1 when there is a cycle

A "top-level package" is a direct child of esl_controller: a subpackage (`labels`) or a
module (`db`). Every import counts, including those inside functions: an import deferred to
call time still ties the two packages together, it only hides the tie from the reader.
The graph comes from grimp, the library import-linter checks the contracts with.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping

import grimp

ROOT = "esl_controller"


def top_level(module: str) -> str:
    """esl_controller.labels.render -> labels; esl_controller.db -> db."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_edges(graph: grimp.ImportGraph) -> dict[tuple[str, str], list[str]]:
    """(importer package, imported package) -> the module-level imports behind that edge."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            source, target = top_level(importer), top_level(imported)
            if source == target or ROOT in (source, target):
                continue
            for detail in graph.get_import_details(importer=importer, imported=imported):
                edges[source, target].append(
                    f"{importer} -> {imported} (line {detail['line_number']}: "
                    f"{detail['line_contents'].strip()})"
                )
    return edges


def strongly_connected(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of packages that can each reach one another."""
    successors: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        successors[source].append(target)
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in successors[node]:
            if successor not in index:
                visit(successor)
                lowlink[node] = min(lowlink[node], lowlink[successor])
            elif successor in on_stack:
                lowlink[node] = min(lowlink[node], index[successor])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return sorted(groups)


def mutual_pairs(edges: Mapping[tuple[str, str], object]) -> list[tuple[str, str]]:
    """Pairs of packages that import each other directly: the cycles to break first."""
    return sorted((a, b) for a, b in edges if a < b and (b, a) in edges)


def report(edges: Mapping[tuple[str, str], list[str]]) -> list[str]:
    packages = {package for edge in edges for package in edge}
    lines = [f"{len(packages)} top-level packages, {len(edges)} package edges"]
    for (source, target), imports in sorted(edges.items()):
        lines.append(f"  {source} -> {target} ({len(imports)} imports)")
    pairs = mutual_pairs(edges)
    lines.append(f"{len(pairs)} pairs of packages importing each other")
    for a, b in pairs:
        lines.append(f"  {a} <-> {b}")
        for source, target in ((a, b), (b, a)):
            lines.extend(f"      {line}" for line in edges[source, target])
    groups = strongly_connected(packages, edges)
    lines.append(f"{len(groups)} groups of packages in a cycle (strongly connected)")
    lines.extend(f"  {' '.join(group)}" for group in groups)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when there is a cycle")
    args = parser.parse_args(argv)
    edges = package_edges(grimp.build_graph(ROOT, cache_dir=None))
    print("\n".join(report(edges)))
    cyclic = strongly_connected({p for e in edges for p in e}, edges)
    return 1 if args.check and cyclic else 0


if __name__ == "__main__":
    sys.exit(main())
