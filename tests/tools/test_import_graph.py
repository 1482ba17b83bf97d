"""tools/import_graph.py: the cycle finder against brute force, and on the real package."""

from __future__ import annotations

import grimp
from hypothesis import given
from hypothesis import strategies as st

from tools.import_graph import (
    mutual_pairs,
    package_edges,
    report,
    strongly_connected,
    top_level,
)

NODES = "abcdef"
edge_lists = st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=20)


def reachable(start: str, edges: list[tuple[str, str]]) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        for source, target in edges:
            if source == node and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


@given(edge_lists)
def test_groups_are_exactly_the_nodes_that_reach_each_other(edges: list[tuple[str, str]]) -> None:
    edges = [(a, b) for a, b in edges if a != b]
    groups = strongly_connected(NODES, edges)
    grouped = [node for group in groups for node in group]
    assert len(grouped) == len(set(grouped))  # no node in two groups
    for a in NODES:
        for b in NODES.replace(a, ""):
            together = any(a in group and b in group for group in groups)
            mutual = b in reachable(a, edges) and a in reachable(b, edges)
            assert together == mutual, (a, b)


@given(edge_lists)
def test_mutual_pairs_are_the_two_way_edges(edges: list[tuple[str, str]]) -> None:
    present = {edge: ["import"] for edge in edges if edge[0] != edge[1]}
    for a, b in mutual_pairs(present):
        assert a < b and (a, b) in present and (b, a) in present
    assert len(mutual_pairs(present)) == len({frozenset(e) for e in present if e[::-1] in present})


def test_top_level_names_the_direct_child_of_the_package() -> None:
    assert top_level("esl_controller.labels.render") == "labels"
    assert top_level("esl_controller.db") == "db"


def test_edges_of_the_real_package_carry_their_import_lines() -> None:
    edges = package_edges(grimp.build_graph("esl_controller", cache_dir=None))
    assert ("worker", "signage") in edges
    assert any(
        "esl_controller.worker -> esl_controller.signage.service" in line
        for line in edges["worker", "signage"]
    )
    assert ("catalogue", "labels") not in edges  # the core's price rules know no label
    lines = report(edges)
    assert lines[0].endswith(f"{len(edges)} package edges")
