"""The session tree: paths, their numbers, and two sessions side by side."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import float_values
from .._present.text import money, seconds

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = ("session_path", "created_at", "latency_ms", "cost", "status")


def segments(path: Any) -> tuple[str, ...]:
    """'/plan//search/' -> ('plan', 'search'); missing or '' -> () (the root)."""
    if not isinstance(path, str):
        return ()
    return tuple(part for part in path.strip().split("/") if part)


def path_of(segments: Sequence[str]) -> str:
    return "/" + "/".join(segments)


@dataclass
class TreeNode:
    """One path of a session; numbers cover the path and everything below it."""

    name: str
    path: str
    depth: int
    requests: int = 0
    own_requests: int = 0
    cost: float = 0.0
    own_cost: float = 0.0
    failed: int = 0
    total_latency_ms: float = 0.0
    latency_count: int = 0
    max_latency_ms: float = float("nan")
    first_start: pd.Timestamp | None = None
    last_end: pd.Timestamp | None = None
    children: list[TreeNode] = field(default_factory=list)

    @property
    def mean_latency_ms(self) -> float:
        """Mean latency of the requests at and below this path (NaN when none has one)."""
        return self.total_latency_ms / self.latency_count if self.latency_count else float("nan")

    def walk(self) -> Iterator[TreeNode]:
        """This node and all nodes below it, depth first, children in order."""
        yield self
        for child in self.children:
            yield from child.walk()


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.0f} ms"


@dataclass
class SessionTree:
    """The path tree of one (or more) sessions' requests.

    ``str(tree)`` / ``tree.render()`` is a readable text tree; ``tree.to_frame()`` has one row
    per path. Build it with :func:`session_tree`.
    """

    root: TreeNode
    session_ids: list[str]
    session_names: list[str]
    tz: str

    def walk(self) -> Iterator[TreeNode]:
        """Every node, depth first (the order of ``render`` and ``to_frame``)."""
        return self.root.walk()

    def find(self, path: str) -> TreeNode:
        """The node of ``path`` (normalised like the request paths)."""
        wanted = path_of(segments(path))
        for node in self.walk():
            if node.path == wanted:
                return node
        raise KeyError(f"no path {wanted!r} in this session")

    def header(self) -> str:
        """One line: which session, how many requests, what it cost, when, and its true span
        (first request start to last request end)."""
        if len(self.session_ids) == 1:
            name = self.session_names[0] if self.session_names else ""
            who = f"Session {self.session_ids[0]}" + (f' "{name}"' if name else "")
        elif not self.session_ids:
            who = "No session"
        else:
            who = f"{len(self.session_ids)} sessions"
        r = self.root
        parts = [who, f"{r.requests:,} requests", money(r.cost, na="-")]
        if r.failed:
            parts.append(f"{r.failed:,} failed")
        if r.first_start is not None:
            start = r.first_start
            end = r.last_end if r.last_end is not None else start
            fmt = "%H:%M:%S" if end.date() == start.date() else "%Y-%m-%d %H:%M:%S"
            parts.append(f"{start:%Y-%m-%d %H:%M:%S} to {end:{fmt}} ({self.tz})")
            parts.append(f"spans {seconds(self.span_s)} (first start to last end)")
        return " · ".join(parts)

    @property
    def span_s(self) -> float:
        """Seconds from the first request's start to the last request's END (start +
        latency): the session's true length. The sessions frame's ``duration_s`` stops at the
        last request's START."""
        r = self.root
        if r.first_start is None or r.last_end is None:
            return float("nan")
        return (r.last_end - r.first_start).total_seconds()

    def render(self) -> str:
        """The tree as aligned text: requests, cost, mean latency and failures per path."""
        labels: list[str] = []
        nodes: list[TreeNode] = []

        def visit(node: TreeNode, prefix: str, is_last: bool, is_root: bool) -> None:
            if is_root:
                labels.append("/")
                child_prefix = ""
            else:
                labels.append(prefix + ("└── " if is_last else "├── ") + node.name)
                child_prefix = prefix + ("    " if is_last else "│   ")
            nodes.append(node)
            for i, child in enumerate(node.children):
                visit(child, child_prefix, i == len(node.children) - 1, False)

        visit(self.root, "", True, True)
        rows = [
            (
                label,
                f"{n.requests:,}",
                money(n.cost, na="-"),
                _ms(n.mean_latency_ms),
                f"{n.failed:,}" if n.failed else "",
            )
            for label, n in zip(labels, nodes, strict=True)
        ]
        head = ("path", "requests", "cost", "mean latency", "failed")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

        def line(r: Sequence[str]) -> str:
            cells = [r[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
            ]
            return "  ".join(cells).rstrip()

        return "\n".join([self.header(), line(head), *[line(r) for r in rows]])

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        r = self.root
        nodes = sum(1 for _ in self.walk())
        return f"<SessionTree {nodes} paths, {r.requests} requests, {money(r.cost)}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython / Jupyter
        p.text(repr(self) if cycle else self.render())

    def to_frame(self) -> pd.DataFrame:
        """One row per path, depth first: numbers at the path and below, and its own share.

        Columns: ``path``, ``name``, ``depth``, ``requests``, ``own_requests``, ``failed``
        (Int64), ``cost``, ``own_cost`` (USD), ``mean_latency_ms``, ``max_latency_ms``,
        ``total_latency_ms``, ``first_start`` and ``last_end`` (start of the first request,
        end = start + latency of the last one to finish; tz-aware).
        """
        import pandas as pd

        nodes = list(self.walk())
        tz_dtype = pd.DatetimeTZDtype(unit="ns", tz=self.tz)

        def times(values: list[pd.Timestamp | None]) -> Any:
            return pd.Series([pd.NaT if v is None else v for v in values], dtype=tz_dtype).array

        return pd.DataFrame(
            {
                "path": pd.array([n.path for n in nodes], dtype="string"),
                "name": pd.array([n.name for n in nodes], dtype="string"),
                "depth": pd.array([n.depth for n in nodes], dtype="Int64"),
                "requests": pd.array([n.requests for n in nodes], dtype="Int64"),
                "own_requests": pd.array([n.own_requests for n in nodes], dtype="Int64"),
                "failed": pd.array([n.failed for n in nodes], dtype="Int64"),
                "cost": [n.cost for n in nodes],
                "own_cost": [n.own_cost for n in nodes],
                "mean_latency_ms": [n.mean_latency_ms for n in nodes],
                "max_latency_ms": [n.max_latency_ms for n in nodes],
                "total_latency_ms": [n.total_latency_ms for n in nodes],
                "first_start": times([n.first_start for n in nodes]),
                "last_end": times([n.last_end for n in nodes]),
            },
            index=pd.RangeIndex(len(nodes)),
        ).astype(
            {
                "cost": "float64",
                "own_cost": "float64",
                "mean_latency_ms": "float64",
                "max_latency_ms": "float64",
                "total_latency_ms": "float64",
            }
        )


def check_requests(df: Any, fn: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise UsageError(
            f"{fn}() takes the requests DataFrame of client.fetch_session_requests(session_id), "
            f"got {type(df).__name__}"
        )
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        hint = (
            " This looks like a sessions frame; fetch one session's requests with "
            "client.fetch_session_requests(session_id)."
            if "avg_latency" in df.columns
            else ""
        )
        raise UsageError(
            f"{fn}() needs the requests frame columns {', '.join(map(repr, missing))}.{hint}"
        )


def frame_zone(df: pd.DataFrame) -> str:
    import pandas as pd

    dtype = df["created_at"].dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        tz = dtype.tz
        return str(getattr(tz, "key", None) or tz)
    return "UTC"


def session_tree(requests: pd.DataFrame) -> SessionTree:
    """Build the path tree of a session from its requests frame.

    Parameters
    ----------
    requests : pandas.DataFrame
        The requests frame of ``Client.fetch_session_requests(session_id)`` (needs
        ``session_path``, ``created_at``, ``latency_ms``, ``cost``, ``status``). Requests of
        several sessions are merged into one tree by path.

    Returns
    -------
    SessionTree
        ``str(tree)`` renders it; children are ordered by their first request.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.drilldown import session_tree
    >>> t0 = pd.Timestamp("2025-01-06 10:00:00", tz="UTC")
    >>> req = pd.DataFrame({
    ...     "session_id": ["s1"] * 5,
    ...     "session_name": ["agent"] * 5,
    ...     "session_path": ["/plan", "/plan/search", "/plan/search", "/answer", None],
    ...     "created_at": [t0 + pd.Timedelta(seconds=s) for s in (0, 2, 3, 9, 12)],
    ...     "latency_ms": [800.0, 400.0, 600.0, 1500.0, 100.0],
    ...     "cost": [0.002, 0.001, 0.001, 0.004, 0.0005],
    ...     "status": [200, 200, 500, 200, 200],
    ... })
    >>> tree = session_tree(req)
    >>> tree.header().split(" · ")[-2:]
    ['2025-01-06 10:00:00 to 10:00:12 (UTC)', 'spans 12.1 s (first start to last end)']
    >>> print(tree)  # doctest: +ELLIPSIS
    Session s1 "agent" · 5 requests · $0.0085 · 1 failed · 2025-01-06 10:00:00 to ...
    path            requests     cost  mean latency  failed
    /                      5  $0.0085        680 ms       1
    ├── plan               3  $0.0040        600 ms       1
    │   └── search         2  $0.0020        500 ms       1
    └── answer             1  $0.0040      1,500 ms
    """
    import pandas as pd

    check_requests(requests, "session_tree")
    tz = frame_zone(requests)
    root = TreeNode(name="/", path="/", depth=0)
    index: dict[tuple[str, ...], TreeNode] = {(): root}
    paths = requests["session_path"].tolist()
    starts = requests["created_at"].tolist()
    latency = float_values(requests["latency_ms"])
    cost = float_values(requests["cost"])
    status = float_values(requests["status"])
    order = sorted(
        range(len(requests)),
        key=lambda i: (pd.isna(starts[i]), starts[i] if not pd.isna(starts[i]) else 0, i),
    )
    for i in order:
        segs = segments(paths[i])
        chain = [root]
        for d in range(1, len(segs) + 1):
            key = segs[:d]
            node = index.get(key)
            if node is None:
                node = TreeNode(name=segs[d - 1], path=path_of(key), depth=d)
                index[key] = node
                index[key[:-1]].children.append(node)  # first seen = earliest first request
            chain.append(node)
        start = None if pd.isna(starts[i]) else pd.Timestamp(starts[i])
        lat = float(latency[i])
        end = start + pd.Timedelta(milliseconds=lat) if start is not None and lat == lat else start
        c = 0.0 if cost[i] != cost[i] else float(cost[i])
        failed = int(status[i] == status[i] and status[i] >= 400)
        chain[-1].own_requests += 1
        chain[-1].own_cost += c
        for node in chain:
            node.requests += 1
            node.cost += c
            node.failed += failed
            if lat == lat:
                node.total_latency_ms += lat
                node.latency_count += 1
                node.max_latency_ms = (
                    lat
                    if node.max_latency_ms != node.max_latency_ms
                    else max(node.max_latency_ms, lat)
                )
            if start is not None and (node.first_start is None or start < node.first_start):
                node.first_start = start
            if end is not None and (node.last_end is None or end > node.last_end):
                node.last_end = end
    ids: list[str] = []
    names: list[str] = []
    if "session_id" in requests.columns:
        pairs = requests[["session_id"]].assign(
            session_name=requests["session_name"] if "session_name" in requests.columns else ""
        )
        for sid, name in pairs.drop_duplicates("session_id").itertuples(index=False):
            if isinstance(sid, str) and sid:
                ids.append(sid)
                names.append(name if isinstance(name, str) else "")
    return SessionTree(root=root, session_ids=ids, session_names=names, tz=tz)


def _merged_order(a: TreeNode, b: TreeNode) -> list[str]:
    """Paths of both trees, depth first: a's children in a's order, then b's new ones."""
    out = [a.path]
    b_children = {child.path: child for child in b.children}
    a_paths = {child.path for child in a.children}
    for child in a.children:
        twin = b_children.get(child.path)
        out.extend(_merged_order(child, twin) if twin else [n.path for n in child.walk()])
    for child in b.children:
        if child.path not in a_paths:
            out.extend(n.path for n in child.walk())
    return out


def compare_sessions(
    a: pd.DataFrame, b: pd.DataFrame, *, labels: tuple[str, str] = ("a", "b")
) -> pd.DataFrame:
    """Two sessions side by side, path by path: requests, cost and latency.

    Numbers per path include the path's sub-paths (as in the tree), so the ``"/"`` row
    compares the whole sessions. A path found in only one session gets 0 requests and cost and
    NaN latency in the other.

    Parameters
    ----------
    a, b : pandas.DataFrame
        Requests frames of two sessions (``Client.fetch_session_requests``).
    labels : tuple of two str, default ("a", "b")
        Column suffixes, e.g. ``("before", "after")``.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``requests_<a>``, ``requests_<b>``, ``failed_<a>``, ``failed_<b>``
        (Int64), ``cost_<a>``, ``cost_<b>``, ``cost_diff`` (b - a, USD),
        ``mean_latency_ms_<a>``, ``mean_latency_ms_<b>``, ``latency_diff_ms`` (b - a); rows in
        tree order (each path followed by its sub-paths; ``a``'s order first, then paths that
        only ``b`` has).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.drilldown import compare_sessions
    >>> t0 = pd.Timestamp("2025-01-06 10:00:00", tz="UTC")
    >>> def frame(paths, latency, cost):
    ...     return pd.DataFrame({"session_path": paths, "created_at": [t0] * len(paths),
    ...                          "latency_ms": latency, "cost": cost, "status": 200})
    >>> old = frame(["/plan", "/answer"], [800.0, 1000.0], [0.01, 0.02])
    >>> new = frame(["/plan", "/plan/search", "/answer"], [700.0, 300.0, 900.0],
    ...             [0.01, 0.005, 0.02])
    >>> out = compare_sessions(old, new, labels=("old", "new"))
    >>> out[["path", "requests_old", "requests_new", "cost_diff", "latency_diff_ms"]]
               path  requests_old  requests_new  cost_diff  latency_diff_ms
    0             /             2             3      0.005      -266.666667
    1         /plan             1             2      0.005      -300.000000
    2  /plan/search             0             1      0.005              NaN
    3       /answer             1             1      0.000      -100.000000
    """

    if (
        not isinstance(labels, tuple | list)
        or len(labels) != 2
        or not all(isinstance(x, str) and x for x in labels)
        or labels[0] == labels[1]
    ):
        raise UsageError(
            f"compare_sessions(): labels must be two different non-empty strings, got {labels!r}"
        )
    la, lb = labels
    frames = []
    trees = []
    for df, label in ((a, la), (b, lb)):
        check_requests(df, "compare_sessions")
        tree = session_tree(df)
        trees.append(tree)
        t = tree.to_frame()
        if int(t["requests"].iloc[0]) == 0:
            t = t.iloc[0:0]
        frames.append(
            t[["path", "requests", "failed", "cost", "mean_latency_ms"]].rename(
                columns={
                    c: f"{c}_{label}" for c in ("requests", "failed", "cost", "mean_latency_ms")
                }
            )
        )
    merged = frames[0].merge(frames[1], on="path", how="outer", sort=False)
    for label in labels:
        for col in (f"requests_{label}", f"failed_{label}"):
            merged[col] = merged[col].fillna(0).astype("Int64")
        merged[f"cost_{label}"] = merged[f"cost_{label}"].fillna(0.0).astype("float64")
        merged[f"mean_latency_ms_{label}"] = merged[f"mean_latency_ms_{label}"].astype("float64")
    merged["cost_diff"] = merged[f"cost_{lb}"] - merged[f"cost_{la}"]
    merged["latency_diff_ms"] = merged[f"mean_latency_ms_{lb}"] - merged[f"mean_latency_ms_{la}"]
    rank = {path: i for i, path in enumerate(_merged_order(trees[0].root, trees[1].root))}
    merged = merged.iloc[sorted(range(len(merged)), key=lambda i: rank[merged["path"].iloc[i]])]
    columns = [
        "path",
        f"requests_{la}",
        f"requests_{lb}",
        f"failed_{la}",
        f"failed_{lb}",
        f"cost_{la}",
        f"cost_{lb}",
        "cost_diff",
        f"mean_latency_ms_{la}",
        f"mean_latency_ms_{lb}",
        "latency_diff_ms",
    ]
    out: pd.DataFrame = merged[columns].reset_index(drop=True)
    out["path"] = out["path"].astype("string")
    return out
