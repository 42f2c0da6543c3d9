"""The anonymity gate on plain trees and cells: thresholds, complementary suppression, filters."""

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxculture.lib.anonymity import (
    FEWER_THAN_K,
    ORGANISATION,
    PROTECTS_OTHERS,
    SHOWN,
    SUBTREE,
    TEAM,
    Group,
    Partition,
    build_plan,
    coarsen_for_storage,
    laminar_visible,
)

# company -> support -> {a, b}; company -> sales
PARENTS = {
    "company": None,
    "support": "company",
    "a": "support",
    "b": "support",
    "sales": "company",
}


def cells(**counts):
    """Cells with no attributes: node -> respondents."""
    return {(node, ()): count for node, count in counts.items()}


def shown(plan, kind, node, **filters):
    return plan.decide(Group(kind, node, tuple(filters.items()))).shown


def test_a_team_needs_k_respondents_to_be_shown():
    plan = build_plan(parents=PARENTS, cells=cells(a=5, b=5, sales=9), k=5)
    assert [shown(plan, SUBTREE, n) for n in ("a", "b", "support", "sales")] == [True] * 4
    plan = build_plan(parents=PARENTS, cells=cells(a=5, b=5, sales=4), k=5)
    decision = plan.decide(Group(SUBTREE, "sales"))
    assert (decision.shown, decision.respondents, decision.reason) == (False, 4, FEWER_THAN_K)


def test_a_parent_with_one_small_child_hides_the_next_smallest_sibling():
    # support = a (8) + b (2): showing support and a would give b away by subtraction.
    plan = build_plan(parents=PARENTS, cells=cells(a=8, b=2, sales=10), k=5)
    assert shown(plan, SUBTREE, "support") is True
    assert shown(plan, SUBTREE, "b") is False
    assert plan.decide(Group(SUBTREE, "a")).reason == PROTECTS_OTHERS
    assert shown(plan, SUBTREE, "sales") is True
    assert shown(plan, SUBTREE, ORGANISATION) is True


def test_the_direct_members_of_a_parent_count_as_a_hidden_child():
    # Support has 3 direct members (its manager and two leads) and two big teams.
    plan = build_plan(parents=PARENTS, cells=cells(support=3, a=6, b=7, sales=10), k=5)
    assert shown(plan, SUBTREE, "support") is True
    assert [shown(plan, SUBTREE, team) for team in ("a", "b")] == [False, True]
    assert shown(plan, TEAM, "support") is False


def test_a_hidden_part_of_k_or_more_needs_no_extra_suppression():
    plan = build_plan(parents=PARENTS, cells=cells(support=5, a=6, b=2, sales=10), k=5)
    # support's remainder = 5 direct + 2 of b = 7 >= 5: a stays visible.
    assert [shown(plan, SUBTREE, n) for n in ("support", "a", "b")] == [True, True, False]
    # The direct members alone cannot be shown: they would give b's two away.
    assert shown(plan, TEAM, "support") is False


def test_direct_members_are_shown_when_they_hide_nobody():
    plan = build_plan(parents=PARENTS, cells=cells(support=5, a=6, b=7, sales=10), k=5)
    assert shown(plan, TEAM, "support") is True
    assert plan.decide(Group(TEAM, "a")) == plan.decide(Group(SUBTREE, "a"))


def test_the_top_hides_a_child_when_it_alone_would_be_left_over():
    parents = {"company": None, "x": "company", "y": "company"}
    plan = build_plan(parents=parents, cells=cells(company=2, x=6, y=9), k=5)
    assert shown(plan, SUBTREE, "company") is True
    assert shown(plan, SUBTREE, "x") is False
    assert shown(plan, SUBTREE, "y") is True


def test_nothing_is_shown_when_the_whole_run_has_fewer_than_k():
    plan = build_plan(parents=PARENTS, cells=cells(a=2, b=2), k=5)
    assert plan.shown_groups() == []


def test_laminar_visibility_settles_deep_nodes_first():
    parents = {"top": None, "d": "top", "t1": "d", "t2": "d", "t3": "d", "e": "top"}
    counts = {"t1": 6, "t2": 7, "t3": 2, "d": 6 + 7 + 2 + 1, "e": 12}
    counts["top"] = counts["d"] + counts["e"]
    visible = laminar_visible(parents, counts, 5)
    # d's remainder = 1 direct + 2 in t3 -> hide t1 (the smaller sibling); top's remainder 0.
    assert visible == {"top", "d", "t2", "e"}


def test_partition_refuses_a_split_that_leaves_a_small_piece():
    partition = Partition({"x": 3, "y": 4, "z": 6}, 5)
    assert partition.split(["x", "y"]) is True  # 7 | 6
    assert partition.split(["x"]) is False  # would leave 3 | 4
    assert partition.block_sizes() == [6, 7]


# --- Attribute filters --------------------------------------------------------------------------

ATTRIBUTES = ("tenure_band", "location")


def people(*rows):
    """Cells from (node, tenure, location, count) rows."""
    result = {}
    for node, tenure, location, count in rows:
        key = (node, (tenure, location))
        result[key] = result.get(key, 0) + count
    return result


def test_a_filter_is_shown_only_when_its_complement_is_empty_or_k_strong():
    data = people(("a", "lt1", "Leeds", 7), ("a", "2to5", "York", 6), ("a", "5plus", "York", 2))
    plan = build_plan(parents={"a": None}, cells=data, k=5, attributes=ATTRIBUTES)
    org = ORGANISATION
    assert shown(plan, SUBTREE, org, location="Leeds") is True  # 7 | 8
    assert shown(plan, SUBTREE, org, location="York") is True  # 8 | 7
    assert shown(plan, SUBTREE, org, tenure_band="lt1") is True  # 7 | 8
    assert shown(plan, SUBTREE, org, tenure_band="2to5") is False  # 6 | 2 within York
    assert shown(plan, SUBTREE, org, tenure_band="5plus") is False  # 2


def test_two_overlapping_filters_cannot_isolate_their_intersection():
    # Leeds (8) and under-1-year (8) overlap in 3 people; both 8 >= 5 and both complements
    # are large, but publishing both would pin down blocks of 3 and 5.
    data = people(
        ("a", "lt1", "Leeds", 3),
        ("a", "lt1", "York", 5),
        ("a", "2to5", "Leeds", 5),
        ("a", "2to5", "York", 9),
    )
    plan = build_plan(parents={"a": None}, cells=data, k=5, attributes=ATTRIBUTES)
    org = ORGANISATION
    leeds = shown(plan, SUBTREE, org, location="Leeds")
    new_joiners = shown(plan, SUBTREE, org, tenure_band="lt1")
    assert leeds != new_joiners  # the larger one first (York 14 vs Leeds 8: York wins)
    assert shown(plan, SUBTREE, org, tenure_band="lt1", location="Leeds") is False


def test_a_filter_on_a_parent_cannot_give_away_a_hidden_child_by_subtraction():
    # Support in Leeds (10) and Support A in Leeds (8) would give Support B in Leeds (2).
    parents = {"support": None, "a": "support", "b": "support"}
    data = people(
        ("a", "lt1", "Leeds", 8),
        ("a", "lt1", "York", 8),
        ("b", "lt1", "Leeds", 2),
        ("b", "lt1", "York", 8),
    )
    plan = build_plan(parents=parents, cells=data, k=5, attributes=ATTRIBUTES)
    published = {
        (g.node, g.filters) for g in plan.shown_groups() if g.filters and g.kind == SUBTREE
    }
    assert not (
        {("support", (("location", "Leeds"),)), ("a", (("location", "Leeds"),))} <= published
    )


def test_a_team_inside_a_filter_cannot_be_subtracted_from_it():
    # Everyone in team a is in Leeds; one person of b is too. "Leeds" minus "a" = that person.
    parents = {"support": None, "a": "support", "b": "support"}
    data = people(("a", "lt1", "Leeds", 8), ("b", "lt1", "Leeds", 1), ("b", "lt1", "York", 9))
    plan = build_plan(parents=parents, cells=data, k=5, attributes=ATTRIBUTES)
    assert shown(plan, SUBTREE, "a") is True
    assert shown(plan, SUBTREE, ORGANISATION, location="Leeds") is False


def test_an_unknown_attribute_value_is_never_offered_as_a_filter():
    data = people(("a", "", "Leeds", 9), ("a", "lt1", "Leeds", 9))
    plan = build_plan(parents={"a": None}, cells=data, k=5, attributes=ATTRIBUTES)
    assert shown(plan, SUBTREE, ORGANISATION, tenure_band="") is False
    assert shown(plan, SUBTREE, ORGANISATION, tenure_band="lt1") is True


# --- The invariant, on random organisations ---------------------------------------------------


def derived_groups(published: list[frozenset]) -> set[frozenset]:
    """Everything an attacker gets from nested differences and disjoint unions (fixed point)."""
    known = set(published)
    frontier = set(published)
    while frontier:
        new = set()
        for x, y in itertools.product(frontier, known):
            for a, b in ((x, y), (y, x)):
                if a < b:
                    new.add(b - a)
                elif not a & b:
                    new.add(a | b)
        new -= known
        known |= new
        frontier = new
        assert len(known) < 20_000, "the closure grew too large for this test"
    return known


def random_org(rng: random.Random):
    parents = {"top": None}
    nodes = ["top"]
    for index in range(rng.randint(2, 6)):
        node = f"n{index}"
        parents[node] = rng.choice(nodes)
        nodes.append(node)
    respondents = []
    for person in range(rng.randint(5, 30)):
        respondents.append(
            (person, rng.choice(nodes), rng.choice(["lt1", "1to2"]), rng.choice(["L", "Y"]))
        )
    data: dict = {}
    for _, node, tenure, location in respondents:
        key = (node, (tenure, location))
        data[key] = data.get(key, 0) + 1
    return parents, respondents, data


@pytest.mark.parametrize("seed", range(40))
def test_no_published_set_of_groups_lets_an_attacker_isolate_fewer_than_k(seed):
    rng = random.Random(seed)
    parents, respondents, data = random_org(rng)
    k = rng.choice([3, 4, 5])
    plan = build_plan(parents=parents, cells=data, k=k, attributes=ATTRIBUTES)
    members = []
    for group in plan.shown_groups():
        cells_in = set(plan.cells_in(group))
        members.append(
            frozenset(p for p, node, t, loc in respondents if (node, (t, loc)) in cells_in)
        )
    for group in derived_groups(members):
        assert len(group) == 0 or len(group) >= k


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=12), min_size=6, max_size=6),
    k=st.integers(min_value=3, max_value=10),
)
def test_every_block_holds_zero_or_at_least_k(counts, k):
    parents = {"top": None, "d1": "top", "d2": "top", "t1": "d1", "t2": "d1", "t3": "d2"}
    data = {(node, ()): count for node, count in zip(parents, counts, strict=True)}
    plan = build_plan(parents=parents, cells=data, k=k)
    partition = Partition(plan.cells, k)
    for group in plan.shown_groups():
        assert partition.split(plan.cells_in(group))
        assert plan.decide(group).respondents >= k
    if plan.shown_groups():
        assert all(size >= k for size in partition.block_sizes())


def test_the_attacker_finds_a_small_group_when_suppression_is_naive():
    # The check above has teeth: publishing every group of k or more leaks b's two people.
    support, a = frozenset(range(10)), frozenset(range(8))
    assert frozenset({8, 9}) in derived_groups([support, a])


# --- Partial answers: each question's figure has its own plan over its answerers --------------

# g -> {b1, b2}: b1 has 6 respondents who all answered Q; b2 has 5 respondents, one answered Q.
EXAMPLE = {"g": None, "b1": "g", "b2": "g"}


def example_plan():
    return build_plan(parents=EXAMPLE, cells=cells(b1=6, b2=5), k=5)


def test_the_respondent_plan_alone_would_publish_both_nested_groups():
    plan = example_plan()
    assert [shown(plan, SUBTREE, n) for n in ("g", "b1", "b2")] == [True, True, True]


def test_a_question_is_never_shown_in_two_groups_whose_difference_has_fewer_than_k_answers():
    plan = example_plan()
    question = plan.figure_plan(cells(b1=6, b2=1))
    in_g, in_b1 = question.shown(Group(SUBTREE, "g")), question.shown(Group(SUBTREE, "b1"))
    assert not (in_g and in_b1)  # 7 - 6 would be one person's answer
    # The rule keeps the larger group (decided first): the organisation and g show Q.
    assert question.shown(Group(SUBTREE, ORGANISATION)) and in_g
    assert question.reason(Group(SUBTREE, "b1")) == PROTECTS_OTHERS
    assert question.reason(Group(SUBTREE, "b2")) == FEWER_THAN_K
    assert question.reason(Group(SUBTREE, "g")) == SHOWN


def test_a_question_everyone_answered_is_shown_wherever_its_group_is():
    plan = example_plan()
    question = plan.figure_plan(cells(b1=6, b2=5))
    assert all(question.shown(group) for group in plan.shown_groups())


def test_a_question_hidden_in_a_group_leaves_the_group_itself_shown():
    plan = example_plan()
    plan.figure_plan(cells(b1=6, b2=1))
    assert shown(plan, SUBTREE, "b1") is True


def test_the_organisation_shows_a_question_whenever_k_answered_it():
    # One small block anywhere does not hide the top-level figure.
    plan = build_plan(parents=PARENTS, cells=cells(a=8, b=9, sales=10), k=5)
    question = plan.figure_plan(cells(a=8, b=1, sales=0))
    assert question.shown(Group(SUBTREE, ORGANISATION)) is True
    assert question.shown(Group(SUBTREE, "support")) is True  # the same 9 answers
    assert question.shown(Group(SUBTREE, "a")) is False  # support - a = one answer
    assert plan.figure_plan(cells(a=2, b=1, sales=1)).shown(Group(SUBTREE, ORGANISATION)) is False


def test_a_team_without_sub_teams_is_decided_as_its_subtree_for_questions_too():
    plan = example_plan()
    question = plan.figure_plan(cells(b1=6, b2=1))
    assert question.shown(Group(TEAM, "b1")) == question.shown(Group(SUBTREE, "b1"))


def test_a_filter_cutting_a_question_block_into_a_small_piece_hides_the_question_only():
    # Leeds and York both have k respondents, but only 2 of York answered Q.
    data = people(("a", "lt1", "Leeds", 6), ("a", "lt1", "York", 6))
    plan = build_plan(parents={"a": None}, cells=data, k=5, attributes=ATTRIBUTES)
    assert shown(plan, SUBTREE, ORGANISATION, location="Leeds") is True
    question = plan.figure_plan(people(("a", "lt1", "Leeds", 6), ("a", "lt1", "York", 2)))
    assert question.shown(Group(SUBTREE, ORGANISATION)) is True
    assert question.shown(Group(SUBTREE, ORGANISATION, (("location", "Leeds"),))) is False


@pytest.mark.parametrize("seed", range(40))
def test_no_published_question_figures_let_an_attacker_isolate_fewer_than_k_answers(seed):
    rng = random.Random(1000 + seed)
    parents, respondents, data = random_org(rng)
    k = rng.choice([3, 4, 5])
    plan = build_plan(parents=parents, cells=data, k=k, attributes=ATTRIBUTES)
    for skip_rate in (0.1, 0.4, 0.8):
        answerers = {p for p, *_ in respondents if rng.random() >= skip_rate}
        counts: dict = {}
        for p, node, tenure, location in respondents:
            if p in answerers:
                key = (node, (tenure, location))
                counts[key] = counts.get(key, 0) + 1
        question = plan.figure_plan(counts)
        published = []
        for group in plan.shown_groups():
            if not question.shown(group):
                continue
            cells_in = set(plan.cells_in(group))
            published.append(
                frozenset(
                    p
                    for p, node, t, loc in respondents
                    if p in answerers and (node, (t, loc)) in cells_in
                )
            )
        for group in derived_groups(published):
            assert len(group) == 0 or len(group) >= k
        top = question.shown(Group(SUBTREE, ORGANISATION))
        assert top == (len(answerers) >= k)


# --- Unanimous answers --------------------------------------------------------------------------


def test_a_block_whose_answers_all_fall_in_one_band_is_unsafe_when_everyone_answered():
    # x: 5 answered, all favourable; y: 6 answered, mixed.
    bands = {"x": [5, 0], "y": [3, 3]}
    assert Partition({"x": 5, "y": 6}, 5, bands=bands).split(["x"]) is False
    assert Partition({"x": 5, "y": 6}, 5, bands=bands).split(["y"]) is False  # leaves x alone
    # Someone invited in x did not answer: nobody's answer in x is certain.
    assert Partition({"x": 5, "y": 6}, 5, bands=bands, incomplete={"x"}).split(["x"]) is True
    # Without bands the old rule holds.
    assert Partition({"x": 5, "y": 6}, 5).split(["x"]) is True


def test_a_unanimous_team_is_shown_neither_directly_nor_as_parent_minus_sibling():
    plan = example_plan()  # g = b1 (6) + b2 (5)
    answered = cells(b1=6, b2=5)
    bands = {("b1", ()): [3, 3], ("b2", ()): [5, 0]}  # b2: every answer favourable
    question = plan.figure_plan(answered, bands=bands)
    shown_in = {node: question.shown(Group(SUBTREE, node)) for node in ("g", "b1", "b2")}
    assert shown_in["b2"] is False
    assert not (shown_in["g"] and shown_in["b1"])  # g - b1 would be b2's unanimous answers
    assert question.reason(Group(SUBTREE, "b2")) != SHOWN
    # With one of b2's invitees silent, b2's figure is an ordinary one.
    relaxed = plan.figure_plan(answered, bands=bands, incomplete={("b2", ())})
    assert all(relaxed.shown(Group(SUBTREE, node)) for node in ("g", "b1", "b2"))


# --- What is stored ------------------------------------------------------------------------------


def test_suppression_hides_a_29_response_team_rather_than_a_107_response_one():
    # The outside report's shape: a department with 3 direct members, a 107-response shift and
    # a 29-response team, neither with sub-teams. Hiding either makes the department's
    # remainder safe; hiding the 29 takes the fewest responses' own figure away.
    parents = {"dept": None, "shift": "dept", "team": "dept", "other": None}
    counts = {"shift": 107, "team": 29, "dept": 3 + 107 + 29, "other": 20}
    visible = laminar_visible(parents, counts, 5)
    assert {"dept", "shift", "other"} <= visible and "team" not in visible


# A department with 3 direct members, a 107-response shift (5 direct members, an early shift
# of 50 and a late one of 52) and a 29-response team.
SHIFT_PARENTS = {
    "dept": None,
    "shift": "dept",
    "early": "shift",
    "late": "shift",
    "team": "dept",
    "other": None,
}
SHIFT_CELLS = {"dept": 3, "shift": 5, "early": 50, "late": 52, "team": 29, "other": 20}


def test_suppression_measures_the_loss_by_responses_that_lose_their_most_specific_figure():
    # Hiding the shift leaves its early and late shifts shown: only its 5 direct members lose
    # their most specific figure (the shift's own). Hiding the team loses 29 people theirs.
    # The old measure (subtree size: 107 against 29) hid the team; this one hides the shift.
    plan = build_plan(parents=SHIFT_PARENTS, cells=cells(**SHIFT_CELLS), k=5)
    assert [shown(plan, SUBTREE, n) for n in ("dept", "shift", "early", "late", "team")] == [
        True,
        False,
        True,
        True,
        True,
    ]
    assert plan.decide(Group(SUBTREE, "shift")).reason == PROTECTS_OTHERS
    # The shift's direct members are now pooled with the department's own three: 8 together.
    assert shown(plan, TEAM, "shift") is False
    assert shown(plan, TEAM, "dept") is False
    # Responses whose most specific shown group is above their own team.
    most_specific_lost = sum(
        count
        for node, count in SHIFT_CELLS.items()
        if node != "dept" and not shown(plan, SUBTREE, node) and not shown(plan, TEAM, node)
    )
    assert most_specific_lost == 5


def test_hiding_the_shift_protects_the_same_people_against_every_subtraction():
    plan = build_plan(parents=SHIFT_PARENTS, cells=cells(**SHIFT_CELLS), k=5)
    respondents = [
        (f"{node}-{i}", node) for node, count in SHIFT_CELLS.items() for i in range(count)
    ]
    members = []
    for group in plan.shown_groups():
        nodes = {cell[0] for cell in plan.cells_in(group)}
        members.append(frozenset(person for person, node in respondents if node in nodes))
    derived = derived_groups(members)
    assert all(len(group) == 0 or len(group) >= 5 for group in derived)
    # The department's 3 direct members are only ever seen among at least 5 people.
    dept_people = {person for person, node in respondents if node == "dept"}
    assert min(len(group) for group in derived if group & dept_people) >= 5
    # Storage stores the shift's direct members with the department, and keeps early and late.
    stored = coarsen_for_storage(parents=SHIFT_PARENTS, cells=cells(**SHIFT_CELLS), k=5, pool="")
    assert stored[("shift", ())] == ("dept", ())
    assert stored[("early", ())] == ("early", ())
    assert stored[("team", ())] == ("team", ())


def test_suppression_falls_back_to_the_old_rule_when_no_single_child_is_enough():
    # top has 2 direct members; x and y hold nobody beyond their shown teams, so hiding either
    # alone adds nobody to top's remainder: x leads to the cheapest team (x1, 6), so x and
    # then x1 are hidden, and y keeps its figure.
    parents = {"top": None, "x": "top", "x1": "x", "x2": "x", "y": "top", "y1": "y", "y2": "y"}
    counts = {"x1": 6, "x2": 7, "y1": 8, "y2": 9, "x": 13, "y": 17, "top": 32}
    assert laminar_visible(parents, counts, 5) == {"top", "x2", "y", "y1", "y2"}


def test_when_no_single_child_is_enough_it_goes_down_the_branch_that_loses_least():
    # x is the smaller subtree (14) but its teams hold 7 each; y (15) holds a 5-response team.
    # The old fallback (smallest subtree) hid x then a 7; this hides y then its 5.
    parents = {"top": None, "x": "top", "x1": "x", "x2": "x", "y": "top", "y1": "y", "y2": "y"}
    counts = {"x1": 7, "x2": 7, "y1": 5, "y2": 10, "x": 14, "y": 15, "top": 31}
    assert laminar_visible(parents, counts, 5) == {"top", "x", "x1", "x2", "y2"}


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(min_value=0, max_value=20), min_size=2, max_size=12),
    counts=st.lists(st.integers(min_value=0, max_value=15), min_size=12, max_size=12),
    k=st.integers(min_value=3, max_value=10),
)
def test_every_shown_team_holds_0_or_k_beyond_its_shown_teams_and_storage_agrees(shape, counts, k):
    # A random tree: node i hangs under one of the nodes before it.
    nodes = [f"n{i}" for i in range(len(shape))]
    parents = {nodes[0]: None}
    for i in range(1, len(nodes)):
        parents[nodes[i]] = nodes[shape[i] % i]
    own = dict(zip(nodes, counts, strict=False))
    subtree = dict.fromkeys(nodes, 0)
    for node in nodes:
        ancestor = node
        while ancestor is not None:
            subtree[ancestor] += own[node]
            ancestor = parents[ancestor]
    visible = laminar_visible(parents, subtree, k)

    def nearest_shown_below(node):
        found = []
        for child in (c for c, p in parents.items() if p == node):
            found.extend([child] if child in visible else nearest_shown_below(child))
        return found

    for node in visible:
        assert subtree[node] >= k
        left = subtree[node] - sum(subtree[c] for c in nearest_shown_below(node))
        assert left == 0 or left >= k, (node, left)
    # Storage puts everyone at their nearest shown team: every stored team holds 0 or >= k
    # and each shown team keeps exactly its people.
    data = {(node, ()): own[node] for node in nodes if own[node]}
    stored = coarsen_for_storage(parents=parents, cells=data, k=k, pool="")
    totals: dict = {}
    for cell, count in data.items():
        totals[stored[cell][0]] = totals.get(stored[cell][0], 0) + count
    if sum(own.values()) >= k:
        assert min(totals.values()) >= k, (parents, own, totals)
    for node in visible:
        kept = sum(n for team, n in totals.items() if team and _is_under(parents, team, node))
        assert kept == subtree[node]


def _is_under(parents, node, ancestor):
    while node is not None:
        if node == ancestor:
            return True
        node = parents.get(node)
    return False


def test_storage_keeps_every_stored_combination_at_0_or_k_and_shown_subtrees_whole():
    rng = random.Random(7)
    for _ in range(200):
        data = {}
        for _ in range(rng.randint(1, 40)):
            node = rng.choice(["company", "support", "a", "b", "sales", "lone"])
            values = (rng.choice(["lt1", "1to2", ""]), rng.choice(["Leeds", "York", "Hull"]))
            data[(node, values)] = data.get((node, values), 0) + rng.randint(1, 4)
        stored = coarsen_for_storage(parents=PARENTS, cells=data, k=5, pool="")
        totals: dict = {}
        for cell, count in data.items():
            totals[stored[cell]] = totals.get(stored[cell], 0) + count
        if sum(data.values()) >= 5:
            assert min(totals.values()) >= 5, (data, totals)
        for (_node, values), (_stored_node, stored_values) in stored.items():
            # Values are only ever blanked, never changed.
            assert all(s in ("", v) for v, s in zip(values, stored_values, strict=True))
        # A subtree the gate shows keeps exactly its respondents.
        plan = build_plan(parents=PARENTS, cells=data, k=5)
        stored_cells = {}
        for cell, count in data.items():
            key = (stored[cell][0] or "lone-pool", ())
            stored_cells[key] = stored_cells.get(key, 0) + count
        for group in plan.shown_groups():
            if group.kind != SUBTREE or group.node == ORGANISATION:
                continue
            before = plan.respondents(group)
            after = sum(
                count
                for (node, _), count in stored_cells.items()
                if node == group.node or _is_below(node, group.node)
            )
            assert before == after, (group, data)


def _is_below(node, ancestor):
    while node in PARENTS and PARENTS[node] is not None:
        node = PARENTS[node]
        if node == ancestor:
            return True
    return False
