"""The anonymity gate: the one place that decides which groups' results may be shown.

Every result path (pages, API, CSV export, dashboards) asks a `Plan` whether a group may be
shown. The gate knows nothing of the product: it works on a tree of plain nodes (team ids) and on
*cells* — the finest groups respondents fall in, here `(node, attribute values)` — with how many
respondents each holds. No answer ever enters this module.

The promise (DESIGN.md, "Survey anonymity"): no set of numbers shown at once lets anyone compute
the answers of fewer than k people. The gate keeps one invariant that makes this true against any
arithmetic an attacker may do (differences of nested groups, unions of disjoint ones, or any
linear combination of published totals):

    Respondents are split into blocks that each hold 0 or at least k people, and every group
    shown is a union of whole blocks.

Whatever is derived from published totals is then a union of blocks too, so it holds 0 or at
least k people. `Partition` maintains the blocks; a candidate group is published only if
splitting the blocks along it leaves every piece empty or at least k strong.

Groups are considered in a fixed order, the same for every viewer (a viewer sees a subset of
one plan, so combining the views of several people reveals nothing more):

1. Team subtrees ("this team and below") with complementary suppression (`laminar_visible`):
   a subtree is shown only with at least k respondents; for each subtree shown, the part not
   covered by its shown sub-subtrees (its direct members plus hidden children) must hold 0 or
   at least k, otherwise the shown child whose hiding makes it so and costs the fewest
   responses their most specific figure is hidden too.
2. Direct members of a team ("this team only"), when the team has sub-teams.
3. Attribute filters for the whole organisation: one attribute at a time, values from the
   largest (so hiding small values leaves a remainder of 0 or at least k), then combinations
   of two and three attributes.
4. One attribute at a time within each team subtree shown, from the top of the tree down.

Filters on team subtrees that cut across a team shown in step 1 into a piece of 1..k-1 are
refused: publishing "Support in Leeds" next to "Support A" would otherwise reveal the Leeds
people of Support B by subtraction.

Partial answers. People may skip questions, so a block of k respondents may hold fewer than k
*answerers* of one question: with blocks b1 (6 people, all answered Q) and b2 (5 people, one
answered Q), the groups b1 and b1 + b2 both have k answerers of Q, yet their difference is one
person's answer. Each question therefore gets its own `FigurePlan`: the respondent blocks are
coarsened into question blocks that each hold 0 or at least k answerers of that question, by
replaying the groups the respondent plan shows, in the plan's own fixed order, on a `Partition`
of the per-cell answerer counts. A group shows the question's figure only if that split
succeeds (and it has k answerers); a refused split hides the question in that group and nothing
else. The organisation comes first, so its figures are shown whenever k people answered.
Figures that pool several questions (a driver, the engagement index, eNPS) are shown in a group
only when every question they pool that has answers there is shown in that group.
"""

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

DEFAULT_THRESHOLD = 5
MIN_THRESHOLD = 3
MAX_THRESHOLD = 10
DEFAULT_COMMENT_THRESHOLD = 10
MAX_COMMENT_THRESHOLD = 100  # and at least the anonymity threshold
DRIVER_IMPACT_MIN_RESPONDENTS = 20

# The virtual node above every top-level team: the whole organisation (everyone in the run).
ORGANISATION = "organisation"

SUBTREE = "subtree"
TEAM = "team"

SHOWN = "shown"
FEWER_THAN_K = "fewer_than_k"
PROTECTS_OTHERS = "protects_others"

Filters = tuple[tuple[str, str], ...]
Cell = tuple[Hashable, tuple[str, ...]]


@dataclass(frozen=True)
class Group:
    """A group of respondents: a team subtree or a team's direct members, with filters."""

    kind: str
    node: Hashable
    filters: Filters = ()


@dataclass(frozen=True)
class Decision:
    shown: bool
    respondents: int
    reason: str


def threshold_is_valid(k: int) -> bool:
    return MIN_THRESHOLD <= k <= MAX_THRESHOLD


def figure_shown(answered: int, k: int) -> bool:
    """A single question's or driver's figure inside a shown group needs k answers too."""
    return answered >= k


def driver_impact_allowed(respondents: int) -> bool:
    return respondents >= DRIVER_IMPACT_MIN_RESPONDENTS


def _safe(count: int, k: int) -> bool:
    return count == 0 or count >= k


class Partition:
    """Cells grouped into blocks of 0 or at least k respondents; published groups are unions.

    With `bands` (a vector of counts per cell, e.g. favourable and not favourable answers of one
    question) a block is also unsafe when every answer in it falls in one band and no cell in it
    is `incomplete` (every invited member answered): such a figure, 100% or 0% favourable, would
    tell each named member's answer although k people gave it.
    """

    def __init__(
        self,
        cells: Mapping[Any, int],
        k: int,
        *,
        bands: Mapping[Any, Sequence[int]] | None = None,
        incomplete: Collection[Any] = (),
    ):
        self.k = k
        self._count = dict(cells)
        self._block_of = dict.fromkeys(self._count, 0)
        self._size = {0: sum(self._count.values())}
        self._next_block = 1
        self._bands = bands
        if bands is not None:
            width = max((len(vector) for vector in bands.values()), default=0)
            self._vector = {cell: _padded(bands.get(cell, ()), width) for cell in self._count}
            self._flag = {cell: int(cell in incomplete) for cell in self._count}
            self._block_vector = {0: _sum_vectors(self._vector.values(), width)}
            self._block_flags = {0: sum(self._flag.values())}
            self._width = width

    def _piece_safe(self, count: int, vector: Sequence[int] | None, flags: int) -> bool:
        if count == 0:
            return True
        if count < self.k:
            return False
        if vector is None:
            return True
        return flags > 0 or sum(1 for n in vector if n) > 1

    def split(self, group: Iterable[Hashable]) -> bool:
        """Publish `group` (cells) if every block it cuts keeps 0 or >= k on both sides."""
        inside: dict[int, int] = defaultdict(int)
        members: dict[int, list[Hashable]] = defaultdict(list)
        for cell in group:
            block = self._block_of[cell]
            inside[block] += self._count[cell]
            members[block].append(cell)
        banded = self._bands is not None
        pieces: dict[int, tuple[list[int], int, list[int], int]] = {}
        for block, count in inside.items():
            vector_in: list[int] | None = None
            vector_out: list[int] | None = None
            flags_in = flags_out = 0
            if banded:
                vector_in = _sum_vectors((self._vector[c] for c in members[block]), self._width)
                vector_out = [
                    a - b for a, b in zip(self._block_vector[block], vector_in, strict=True)
                ]
                flags_in = sum(self._flag[c] for c in members[block])
                flags_out = self._block_flags[block] - flags_in
                pieces[block] = (vector_in, flags_in, vector_out, flags_out)
            if not (
                self._piece_safe(count, vector_in, flags_in)
                and self._piece_safe(self._size[block] - count, vector_out, flags_out)
            ):
                return False
        for block, cells in members.items():
            count = inside[block]
            if count == self._size[block]:
                continue
            new_block, self._next_block = self._next_block, self._next_block + 1
            for cell in cells:
                self._block_of[cell] = new_block
            self._size[new_block] = count
            self._size[block] -= count
            if banded:
                vector_in, flags_in, vector_out, flags_out = pieces[block]
                self._block_vector[new_block], self._block_vector[block] = vector_in, vector_out
                self._block_flags[new_block], self._block_flags[block] = flags_in, flags_out
        return True

    def block_sizes(self) -> list[int]:
        return sorted(size for size in self._size.values() if size)


def _padded(vector: Sequence[int], width: int) -> list[int]:
    return [*vector, *([0] * (width - len(vector)))]


def _sum_vectors(vectors: Iterable[Sequence[int]], width: int) -> list[int]:
    total = [0] * width
    for vector in vectors:
        for index, n in enumerate(vector):
            total[index] += n
    return total


def _depth(parents: Mapping[Hashable, Hashable | None], node: Hashable) -> int:
    level, seen = 0, {node}
    parent = parents.get(node)
    while parent is not None and parent not in seen:
        seen.add(parent)
        level += 1
        parent = parents.get(parent)
    return level


def laminar_visible(
    parents: Mapping[Hashable, Hashable | None], subtree_counts: Mapping[Hashable, int], k: int
) -> set[Hashable]:
    """Nodes whose subtree may be shown, with complementary suppression (bottom-up).

    `parents` maps every node to its parent (None for the top). A node is shown with at least k
    respondents; then, for each shown node, its *remainder* (respondents not in a shown
    descendant: its direct members and hidden children) must be 0 or at least k. If it is not,
    a shown nearest descendant is hidden as well and its remainder joins, until the rule holds:

    - the one that loses least: among those whose remainder alone makes the node's remainder
      at least k, the one with the smallest remainder, then the smallest subtree. Hiding a
      team takes the most specific published figure only from its remainder: its shown
      sub-teams keep theirs. So a 107-response shift with 5 direct members and two shown
      shifts below it costs 5 responses their figure, a 29-response team without sub-teams 29;
    - when no one hiding is enough (every candidate's remainder is 0: its people are all in
      shown teams below it, and hiding it costs nobody their most specific figure), the one
      through which the cheapest enough team below can be reached (`reach`), then the
      smallest subtree; the next round then hides that cheaper team.

    Either way the hidden groups together hold at least k, so the same people are protected.
    Deepest nodes are settled first, so hiding a child never breaks a node already settled.
    The choice depends on counts and ids only, so every viewer (and `coarsen_for_storage`)
    gets the same plan.
    """
    children: dict[Hashable, list[Hashable]] = defaultdict(list)
    for node, parent in parents.items():
        if parent is not None:
            children[parent].append(node)
    depth = {node: _depth(parents, node) for node in parents}
    shown = {node for node in parents if subtree_counts.get(node, 0) >= k}

    def nearest_shown(node: Hashable) -> list[Hashable]:
        found, stack = [], list(children[node])
        while stack:
            child = stack.pop()
            if child in shown:
                found.append(child)
            else:
                stack.extend(children[child])
        return found

    def remainder(node: Hashable) -> int:
        below = nearest_shown(node)
        return subtree_counts.get(node, 0) - sum(subtree_counts.get(c, 0) for c in below)

    def reach(node: Hashable) -> int:
        """The fewest responses that lose their most specific figure if hiding `node` (and
        shown teams under it holding nobody beyond their own shown teams) is to add anyone
        to its parent's remainder. A shown team holds at least k, so this is always found."""
        own = remainder(node)
        if own:
            return own
        return min(reach(child) for child in nearest_shown(node))

    for node in sorted(parents, key=lambda n: (-depth[n], str(n))):
        if node not in shown:
            continue
        while not _safe(left := remainder(node), k):
            below = [(child, remainder(child)) for child in nearest_shown(node)]
            # A shown team's remainder is 0 or at least k (deeper nodes are settled), so one
            # with people beyond its shown teams is always enough on its own.
            enough = [(child, own) for child, own in below if left + own >= k]
            if enough:
                victim = min(enough, key=lambda c: (c[1], subtree_counts.get(c[0], 0), str(c[0])))
            else:
                victim = min(
                    below, key=lambda c: (reach(c[0]), subtree_counts.get(c[0], 0), str(c[0]))
                )
            shown.discard(victim[0])
    return shown


class Plan:
    """What may be shown of one run (or one participation count), the same for every viewer.

    `parents` maps each team node to its parent team (None for top-level teams); the gate puts
    ORGANISATION above them. `cells` maps `(node, values)` — `values` aligned with `attributes`
    — to a respondent count.
    """

    def __init__(
        self,
        *,
        parents: Mapping[Hashable, Hashable | None],
        cells: Mapping[Cell, int],
        k: int,
        attributes: Sequence[str] = (),
        withheld: Collection[Hashable] = (),
    ):
        self.k = k
        self.attributes = tuple(attributes)
        self.withheld = frozenset(withheld)
        self.parents: dict[Hashable, Hashable | None] = {ORGANISATION: None}
        for node, parent in parents.items():
            self.parents[node] = ORGANISATION if parent is None else parent
        for node, _values in cells:
            self.parents.setdefault(node, ORGANISATION)
        self.cells = {cell: count for cell, count in cells.items() if count}
        self._children: dict[Hashable, list[Hashable]] = defaultdict(list)
        for node, parent in self.parents.items():
            if parent is not None:
                self._children[parent].append(node)
        self._cells_under: dict[Hashable, list[Cell]] = defaultdict(list)
        self._cells_of: dict[Hashable, list[Cell]] = defaultdict(list)
        for cell in self.cells:
            self._cells_of[cell[0]].append(cell)
            ancestor: Hashable | None = cell[0]
            seen = set()
            while ancestor is not None and ancestor not in seen:
                seen.add(ancestor)
                self._cells_under[ancestor].append(cell)
                ancestor = self.parents.get(ancestor)
        self.decisions: dict[Group, Decision] = {}
        self._published: list[tuple[Group, list[Cell]]] | None = None
        self._build()

    # --- Counting -------------------------------------------------------------------------------

    def cells_in(self, group: Group) -> list[Cell]:
        base = self._cells_under if group.kind == SUBTREE else self._cells_of
        cells = base.get(group.node, [])
        if not group.filters:
            return list(cells)
        wanted = [(self.attributes.index(name), value) for name, value in group.filters]
        return [cell for cell in cells if all(cell[1][i] == value for i, value in wanted)]

    def respondents(self, group: Group) -> int:
        return sum(self.cells[cell] for cell in self.cells_in(group))

    def decide(self, group: Group) -> Decision:
        if group in self.decisions:
            return self.decisions[group]
        if group.kind == TEAM and not self._children.get(group.node):
            # A team without sub-teams: its members are its subtree.
            return self.decide(Group(SUBTREE, group.node, group.filters))
        count = self.respondents(group)
        return Decision(False, count, FEWER_THAN_K if count < self.k else PROTECTS_OTHERS)

    def shown(self, group: Group) -> bool:
        return self.decide(group).shown

    # --- Building ---------------------------------------------------------------------------------

    def _record(self, group: Group, shown: bool, count: int | None = None) -> None:
        count = self.respondents(group) if count is None else count
        reason = SHOWN if shown else (FEWER_THAN_K if count < self.k else PROTECTS_OTHERS)
        self.decisions[group] = Decision(shown, count, reason)

    def _build(self) -> None:
        k = self.k
        subtree_counts = {
            node: sum(self.cells[c] for c in self._cells_under.get(node, []))
            for node in self.parents
        }
        visible = laminar_visible(self.parents, subtree_counts, k)
        partition = Partition(self.cells, k)
        depth = {node: _depth(self.parents, node) for node in self.parents}
        by_depth = sorted(self.parents, key=lambda n: (depth[n], str(n)))
        for node in by_depth:
            group = Group(SUBTREE, node)
            shown = (
                node in visible
                and node not in self.withheld
                and partition.split(self._cells_under.get(node, []))
            )
            self._record(group, shown, subtree_counts[node])
        for node in by_depth:
            if node == ORGANISATION or not self._children.get(node):
                continue
            group = Group(TEAM, node)
            cells = self._cells_of.get(node, [])
            count = sum(self.cells[c] for c in cells)
            self._record(group, count >= k and partition.split(cells), count)
        if not self.attributes:
            return
        top = Group(SUBTREE, ORGANISATION)
        self._cut(partition, top, self._cells_under.get(ORGANISATION, []), 1)
        for size in range(2, len(self.attributes) + 1):
            self._cut(partition, top, self._cells_under.get(ORGANISATION, []), size)
        for node in by_depth:
            if node == ORGANISATION or not self.decisions[Group(SUBTREE, node)].shown:
                continue
            self._cut(partition, Group(SUBTREE, node), self._cells_under.get(node, []), 1)

    def _cut(self, partition: Partition, scope: Group, cells: list[Cell], size: int) -> None:
        """Consider every filter of `size` attributes within `scope`, largest groups first."""
        for indexes in combinations(range(len(self.attributes)), size):
            buckets: dict[tuple[str, ...], list[Cell]] = defaultdict(list)
            for cell in cells:
                values = tuple(cell[1][i] for i in indexes)
                if all(values):  # an unknown value is never offered as a filter
                    buckets[values].append(cell)
            totals = {
                values: sum(self.cells[c] for c in group) for values, group in buckets.items()
            }
            for values in sorted(buckets, key=lambda v: (-totals[v], v)):
                filters = tuple(
                    (self.attributes[i], value) for i, value in zip(indexes, values, strict=True)
                )
                group = Group(scope.kind, scope.node, filters)
                count = totals[values]
                self._record(group, count >= self.k and partition.split(buckets[values]), count)

    # --- Introspection (tests, explanations) ----------------------------------------------------

    def shown_groups(self) -> list[Group]:
        return [group for group, decision in self.decisions.items() if decision.shown]

    def canonical(self, group: Group) -> Group:
        """The group as decided: a team without sub-teams is its subtree."""
        if group.kind == TEAM and not self._children.get(group.node):
            return Group(SUBTREE, group.node, group.filters)
        return group

    def published_cells(self) -> list[tuple[Group, list[Cell]]]:
        """The groups shown, in the order they were decided, with their cells."""
        if self._published is None:
            self._published = [(group, self.cells_in(group)) for group in self.shown_groups()]
        return self._published

    def figure_plan(
        self,
        answerers: Mapping[Cell, int],
        *,
        bands: Mapping[Cell, Sequence[int]] | None = None,
        incomplete: Collection[Cell] = (),
    ) -> "FigurePlan":
        return FigurePlan(self, answerers, bands=bands, incomplete=incomplete)


class FigurePlan:
    """Where one question's figure may be shown, on top of a respondent `Plan`.

    `answerers` maps cells to how many of their respondents answered the question. The
    respondent blocks are coarsened into question blocks of 0 or at least k answerers: a
    `Partition` of the answerer counts replays the groups the plan shows, in the plan's order
    (the same for every viewer), and a group shows the question only if the split succeeds.
    Every group showing the question is then a union of question blocks, so no difference or
    union of them holds 1..k-1 answerers of it. Refused groups keep all their other figures.

    With `bands` (per cell: the answers in each band the figure tells apart, such as favourable
    and not), a question block whose answers all fall in one band is unsafe too unless one of
    its cells is `incomplete` (someone invited there did not answer): a unanimous figure of a
    group where everyone answered would tell each member's answer (see `Partition`).
    """

    def __init__(
        self,
        plan: Plan,
        answerers: Mapping[Cell, int],
        *,
        bands: Mapping[Cell, Sequence[int]] | None = None,
        incomplete: Collection[Cell] = (),
    ):
        self.plan = plan
        counts = {cell: answerers.get(cell, 0) for cell in plan.cells}
        partition = Partition(counts, plan.k, bands=bands, incomplete=incomplete)
        self._answered: dict[Group, int] = {}
        self._refused: set[Group] = set()
        for group, cells in plan.published_cells():
            answered = sum(counts[cell] for cell in cells)
            if answered >= plan.k and partition.split(cells):
                self._answered[group] = answered
            elif answered >= plan.k:
                self._refused.add(group)

    def shown(self, group: Group) -> bool:
        return self.plan.canonical(group) in self._answered

    def reason(self, group: Group) -> str:
        """SHOWN, FEWER_THAN_K, or PROTECTS_OTHERS when k answered but the split was refused."""
        group = self.plan.canonical(group)
        if group in self._answered:
            return SHOWN
        return PROTECTS_OTHERS if group in self._refused else FEWER_THAN_K


def build_plan(
    *,
    parents: Mapping[Hashable, Hashable | None],
    cells: Mapping[Cell, int],
    k: int,
    attributes: Sequence[str] = (),
    withheld: Collection[Hashable] = (),
) -> Plan:
    """`withheld` nodes' subtrees are never shown: a closed run stores some of their
    respondents above them (`coarsen_for_storage`), so their cells are not all of them."""
    if k < 1:
        raise ValueError("k must be at least 1")
    return Plan(parents=parents, cells=cells, k=k, attributes=attributes, withheld=withheld)


# --- What is stored -----------------------------------------------------------------------------


def coarsen_for_storage(
    *,
    parents: Mapping[Hashable, Hashable | None],
    cells: Mapping[Cell, int],
    k: int,
    pool: Hashable,
) -> dict[Cell, Cell]:
    """Where each cell's respondents are *stored*, so that every stored cell holds 0 or >= k.

    A response is stored with a team and attribute values that anyone with the database could
    match against the directory (who was invited from which team, their location, role family
    and hire date). If a stored combination held fewer than k respondents, that join would
    narrow its answers down to fewer than k people. So, once a run's respondents are all known:

    1. Teams: each respondent is stored at the nearest team, among their own and its
       ancestors, whose subtree the gate may show (`laminar_visible`: at least k, and what it
       holds beyond its shown sub-teams is 0 or at least k); people under no such team go to
       `pool` (the organisation without a team), which `laminar_visible` keeps at 0 or k.
       Every subtree the gate shows keeps exactly its respondents.
    2. Attributes, within each stored team: values are kept for combinations of at least k;
       the rest lose the last attribute, then the last two, and so on, joining any stored
       combination they then match; a remainder of 1..k-1 with no attributes takes in the
       smallest other combination of its team.

    `parents` maps each team to its parent (None at the top); `cells` maps `(team, values)` to
    respondents. Returns a mapping from every cell given to the cell it is stored as. The gate
    reads stored cells as it reads any cells: a team never shown alone (fewer than k) adds to
    its parent as before, and an attribute value withheld here reads as "not recorded".
    """
    tree: dict[Hashable, Hashable | None] = {ORGANISATION: None}
    for node, parent in parents.items():
        tree[node] = ORGANISATION if parent is None else parent
    for node, _values in cells:
        tree.setdefault(node, ORGANISATION)
    tree.pop(pool, None)
    subtree_counts: dict[Hashable, int] = defaultdict(int)
    for (node, _values), count in cells.items():
        ancestor: Hashable | None = ORGANISATION if node == pool else node
        seen = set()
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            subtree_counts[ancestor] += count
            ancestor = tree.get(ancestor)
    visible = laminar_visible(tree, subtree_counts, k)

    def final(node: Hashable) -> Hashable:
        ancestor: Hashable | None = node
        seen = set()
        while ancestor is not None and ancestor not in seen:
            if ancestor in visible and ancestor != ORGANISATION:
                return ancestor
            seen.add(ancestor)
            ancestor = tree.get(ancestor)
        return pool

    by_team: dict[Hashable, dict[tuple[str, ...], int]] = defaultdict(lambda: defaultdict(int))
    team_of: dict[Cell, Hashable] = {}
    for cell, count in cells.items():
        team = final(cell[0])
        team_of[cell] = team
        by_team[team][cell[1]] += count
    values_of: dict[Hashable, dict[tuple[str, ...], tuple[str, ...]]] = {
        team: _coarsen_values(counts, k) for team, counts in by_team.items()
    }
    return {cell: (team_of[cell], values_of[team_of[cell]][cell[1]]) for cell in cells}


def _coarsen_values(
    counts: Mapping[tuple[str, ...], int], k: int
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Step 2 of `coarsen_for_storage` within one stored team: values -> stored values."""
    width = max((len(values) for values in counts), default=0)
    stored: dict[tuple[str, ...], int] = defaultdict(int)
    mapping: dict[tuple[str, ...], tuple[str, ...]] = {}
    pending = dict(counts)
    for kept in range(width, -1, -1):
        groups: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
        for values in pending:
            groups[values[:kept] + ("",) * (width - kept)].append(values)
        pending = {}
        for general, members in groups.items():
            total = sum(counts[values] for values in members)
            if kept == 0 or stored[general] + total >= k:
                stored[general] += total
                for values in members:
                    mapping[values] = general
            else:
                for values in members:
                    pending[values] = counts[values]
    blank = ("",) * width
    if 0 < stored[blank] < k:
        others = [general for general, n in stored.items() if n and general != blank]
        if others:
            smallest = min(others, key=lambda general: (stored[general], general))
            stored[blank] += stored.pop(smallest)
            for values, general in mapping.items():
                if general == smallest:
                    mapping[values] = blank
    return mapping
