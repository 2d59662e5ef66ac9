#!/usr/bin/env python3
"""Checks the monitoring artefacts in docs/monitoring/ against the metrics the services export.

1. Reads the metrics the Swift sources under Shared/ and Services/ define (whatever their name): every
   `Counter`/`FloatingPointCounter`/`Gauge`/`Meter`/`Recorder`/`Timer` made with `label:` (and any
   `make…(name:)` on a Prometheus registry), with the label written as a literal, a string
   constant, a concatenation or an interpolation whose pieces are constants or parameters of the
   enclosing function (resolved through the function's call sites in the same module). A piece it
   cannot resolve makes a pattern (`fraiseql_job_*`) that must match at least one row of the
   table. Optionally also the `# TYPE` lines (and the samples' label names) of saved `/metrics`
   pages given with `--scrape FILE...`.
2. docs/monitoring/metrics.md: every row's metric is defined (sources or scrapes), every defined
   metric has a row, the types and labels agree, the rows are sorted and unique.
3. docs/monitoring/grafana-dashboard.json and docs/monitoring/alerts.yml: every PromQL expression
   names only metrics of the table (`_bucket`/`_sum`/`_count` of a histogram allowed), only known
   functions, and label names the metrics have.
4. Every alert has `for:`, a severity label, a summary and a runbook annotation
   `docs/operations.md#<anchor>` whose anchor is a heading of docs/operations.md (its Runbooks).

Rows named in PENDING below (documented before their code lands) are accepted while no source
defines them (with a note; `--strict` refuses them). It is empty.

Exit 0 with a one-line summary, 1 with the list of problems, 2 on a usage error.
Needs python3 and PyYAML.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.stderr.write("check-monitoring: PyYAML is needed (apt-get install python3-yaml, or pip install pyyaml)\n")
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
# Metrics documented before their code lands: accepted without a definition unless --strict.
# e.g. "fraiseql_gateway_admin_requests_total": "metrics-gateway's admin API (being written)".
PENDING: dict[str, str] = {}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
TYPES = {"counter", "gauge", "histogram"}
RUNBOOK_PATH = "docs/operations.md"
SCRAPE_LABELS = {"job", "instance"}  # added by Prometheus when it scrapes

# swift-metrics type → Prometheus type (swift-prometheus 2.x).
SWIFT_TYPES = {
    "Counter": "counter",
    "FloatingPointCounter": "counter",
    "Gauge": "gauge",
    "Meter": "gauge",
    "Recorder": "histogram",  # aggregate: false → gauge
    "Timer": "histogram",
}
REGISTRY_TYPES = {
    "makeCounter": "counter",
    "makeFloatingPointCounter": "counter",
    "makeGauge": "gauge",
    "makeDurationHistogram": "histogram",
    "makeValueHistogram": "histogram",
}

PROMQL_FUNCTIONS = {
    # aggregations
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
    # functions
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor",
    "histogram_count", "histogram_sum", "histogram_fraction", "histogram_quantile", "histogram_avg",
    "histogram_stddev", "histogram_stdvar", "holt_winters", "double_exponential_smoothing", "hour",
    "idelta", "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label",
    "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time",
    "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin",
    "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi",
    # Grafana template queries
    "label_values", "label_names", "metrics", "query_result",
}
PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "inf", "nan", "atan2", "start", "end",
}


# --------------------------------------------------------------------------------------------
# Swift sources


def strip_comments(text: str) -> str:
    """Blanks `//` and `/* */` comments (newlines kept), leaving string literals intact."""
    out: list[str] = []
    i, n = 0, len(text)

    def skip_string(i: int) -> int:
        """From an opening quote at i, returns the index after the closing one (copying)."""
        multi = text.startswith('"""', i)
        quote = '"""' if multi else '"'
        out.append(quote)
        i += len(quote)
        while i < n:
            if text.startswith("\\(", i):
                out.append("\\(")
                i += 2
                depth = 1
                while i < n and depth:
                    c = text[i]
                    if c == '"':
                        i = skip_string(i)
                        continue
                    if c == "(":
                        depth += 1
                    elif c == ")":
                        depth -= 1
                    out.append(c)
                    i += 1
                continue
            if text[i] == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if text.startswith(quote, i):
                out.append(quote)
                return i + len(quote)
            if not multi and text[i] == "\n":  # unterminated: give up on this literal
                return i
            out.append(text[i])
            i += 1
        return i

    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text[i] == '"':
            i = skip_string(i)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def balanced(text: str, start: int) -> int:
    """Index of the `)`/`]` closing the bracket at `start` (strings skipped), or -1."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[text[start]]]
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = string_end(text, i)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if not stack or c != stack[-1]:
                return -1
            stack.pop()
            if not stack:
                return i
        i += 1
    return -1


def string_end(text: str, i: int) -> int:
    """Index after the string literal starting at i."""
    multi = text.startswith('"""', i)
    quote = '"""' if multi else '"'
    i += len(quote)
    while i < len(text):
        if text.startswith("\\(", i):
            close = balanced(text, i + 1)
            i = close + 1 if close > 0 else i + 2
            continue
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            return i + len(quote)
        i += 1
    return i


def split_top(text: str, sep: str = ",") -> list[str]:
    """Splits on `sep` outside brackets and strings."""
    parts, depth, i, last = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = string_end(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[last:i])
            last = i + len(sep)
            i += len(sep)
            continue
        i += 1
    parts.append(text[last:])
    return [p.strip() for p in parts if p.strip()]


def parse_args(arglist: str) -> list[tuple[str | None, str]]:
    """`label: value, value` → [(label, value), (None, value)]."""
    result = []
    for part in split_top(arglist):
        m = re.match(r"^([A-Za-z_]\w*)\s*:(?!:)\s*(.*)$", part, re.S)
        result.append((m.group(1), m.group(2).strip()) if m else (None, part))
    return result


def string_pieces(literal: str) -> list[tuple[str, str]] | None:
    """A single-line literal `"a\\(b)c"` → [("text","a"), ("expr","b"), ("text","c")]."""
    if not (literal.startswith('"') and literal.endswith('"')) or literal.startswith('"""'):
        return None
    body = literal[1:-1]
    pieces, i, text = [], 0, ""
    while i < len(body):
        if body.startswith("\\(", i):
            close = balanced(body, i + 1)
            if close < 0:
                return None
            if text:
                pieces.append(("text", text))
                text = ""
            pieces.append(("expr", body[i + 2 : close].strip()))
            i = close + 1
        elif body[i] == "\\":
            text += body[i + 1 : i + 2]
            i += 2
        else:
            text += body[i]
            i += 1
    if text:
        pieces.append(("text", text))
    return pieces


def mask_strings(code: str) -> str:
    """The code with every string literal's content blanked (same length), for searching calls."""
    out, i, last = [], 0, 0
    while i < len(code):
        if code[i] == '"':
            end = string_end(code, i)
            out.append(code[last:i])
            out.append('"' + re.sub(r"[^\n]", " ", code[i + 1 : end - 1]) + '"')
            i = last = end
        else:
            i += 1
    out.append(code[last:])
    return "".join(out)


@dataclass
class SwiftFile:
    path: Path
    code: str  # comments blanked
    masked: str = ""  # and string contents blanked

    def __post_init__(self) -> None:
        self.masked = mask_strings(self.code)

    def line(self, pos: int) -> int:
        return self.code.count("\n", 0, pos) + 1


@dataclass
class Definition:
    name: str  # may hold `*` for a part that could not be resolved
    type: str
    labels: frozenset[str] | None  # None: could not be resolved
    where: str


class SwiftMetrics:
    def __init__(self, roots: list[Path]):
        self.files = [
            SwiftFile(p, strip_comments(p.read_text(encoding="utf-8", errors="replace")))
            for root in roots
            if root.is_dir()
            for p in sorted(root.rglob("*.swift"))
        ]
        self.definitions: list[Definition] = []
        self.notes: list[str] = []
        self.unresolved: list[str] = []
        for f in self.files:
            self.scan(f)

    # -- resolution ------------------------------------------------------------------------

    def module_files(self, f: SwiftFile) -> list[SwiftFile]:
        """The files of f's module: Services/X/… or Shared/X/…"""
        parts = f.path.parts
        for i, part in enumerate(parts):
            if part in ("Services", "Shared") and i + 1 < len(parts):
                prefix = parts[: i + 2]
                return [g for g in self.files if g.path.parts[: i + 2] == prefix]
        return [f]

    def constant(self, name: str, f: SwiftFile, anywhere: bool) -> list[str] | None:
        """Values of `let/var NAME = "literal"`: f's file first, then its module, then (for a
        qualified name such as `Names.prefix`) every file."""
        pattern = re.compile(r"\b(?:let|var)\s+" + re.escape(name) + r"\s*(?::\s*String\s*)?=\s*(\"(?:[^\"\\\n]|\\.)*\")")
        for scope in ([f], self.module_files(f)) + ((self.files,) if anywhere else ()):
            values = []
            for g in scope:
                for m in pattern.finditer(g.code):
                    pieces = string_pieces(m.group(1))
                    if pieces is not None and all(k == "text" for k, _ in pieces):
                        values.append("".join(v for _, v in pieces))
            if values:
                return sorted(set(values))
        return None

    def enclosing_function(self, f: SwiftFile, pos: int):
        """(name, [(external, internal)]) of the nearest `func`/`init` declared before pos."""
        best = None
        for m in re.finditer(r"\b(func\s+([A-Za-z_]\w*)|init)\s*(<[^>{}]*>)?\s*\(", f.masked[:pos]):
            best = m
        if not best:
            return None
        open_paren = best.end() - 1
        close = balanced(f.code, open_paren)
        if close < 0:
            return None
        params = []
        for p in split_top(f.code[open_paren + 1 : close]):
            head = p.split(":", 1)[0].split()
            if not head:
                continue
            external, internal = (head[0], head[1]) if len(head) > 1 else (head[0], head[0])
            params.append((external, internal))
        return (best.group(2) or "init"), params

    def parameter_values(self, f: SwiftFile, pos: int, name: str) -> list[str] | None:
        """Literal arguments passed for parameter `name` of the function enclosing pos."""
        enclosing = self.enclosing_function(f, pos)
        if not enclosing:
            return None
        fname, params = enclosing
        index = next((i for i, (_, internal) in enumerate(params) if internal == name), None)
        if index is None or fname == "init":
            return None
        external = params[index][0]
        values: set[str] = set()
        calls = 0
        for g in self.module_files(f):
            for m in re.finditer(r"(?<![\w])" + re.escape(fname) + r"\s*\(", g.masked):
                if re.search(r"\bfunc\s+$", g.code[: m.start()][-12:]):
                    continue  # the declaration
                close = balanced(g.code, m.end() - 1)
                if close < 0:
                    continue
                args = parse_args(g.code[m.end() : close])
                if external == "_":
                    positional = [v for label, v in args if label is None]
                    unlabelled_before = sum(1 for e, _ in params[:index] if e == "_")
                    value = positional[unlabelled_before] if unlabelled_before < len(positional) else None
                else:
                    value = next((v for label, v in args if label == external), None)
                if value is None:
                    continue
                calls += 1
                pieces = string_pieces(value)
                if pieces is None or not all(k == "text" for k, _ in pieces):
                    return None  # a call with a non-literal argument: cannot enumerate
                values.add("".join(v for _, v in pieces))
        return sorted(values) if calls else None

    def resolve_piece(self, expr: str, f: SwiftFile, pos: int) -> list[str]:
        ident = expr.strip()
        if re.fullmatch(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*", ident):
            last = ident.split(".")[-1]
            if "." not in ident:  # a parameter of the enclosing function?
                values = self.parameter_values(f, pos, last)
                if values:
                    return values
            values = self.constant(last, f, anywhere="." in ident)  # `prefix`, `Names.prefix`
            if values:
                return values
        return ["*"]

    def resolve_label(self, expr: str, f: SwiftFile, pos: int) -> list[str]:
        """Every name the label expression can take (with `*` for unresolved parts)."""
        choices: list[list[str]] = []
        for term in split_top(expr, "+"):
            pieces = string_pieces(term)
            if pieces is None:
                choices.append(self.resolve_piece(term, f, pos))
                continue
            for kind, value in pieces:
                choices.append([value] if kind == "text" else self.resolve_piece(value, f, pos))
        return sorted({"".join(c) for c in itertools.product(*choices)}) if choices else []

    def resolve_labels(self, expr: str | None, f: SwiftFile, pos: int) -> frozenset[str] | None:
        if expr is None:
            return frozenset()
        expr = expr.strip()
        if re.fullmatch(r"[A-Za-z_]\w*", expr):
            # `dimensions: dimensions` → the nearest `let dimensions = [...]` before it.
            found = None
            for m in re.finditer(r"\blet\s+" + re.escape(expr) + r"\s*(?::[^=]+)?=\s*\[", f.masked[:pos]):
                found = m
            if not found:
                return None
            close = balanced(f.code, found.end() - 1)
            expr = f.code[found.end() - 1 : close + 1]
        if not expr.startswith("["):
            return None
        if expr.replace(" ", "") in ("[]", "[:]"):
            return frozenset()
        names = []
        for element in split_top(expr[1:-1]):
            tuple_match = re.fullmatch(r"\(\s*\"([A-Za-z_]\w*)\"\s*,.*\)", element, re.S)
            key_match = re.match(r"\"([A-Za-z_]\w*)\"\s*:", element)  # a dictionary of labels
            if not (tuple_match or key_match):
                return None
            names.append((tuple_match or key_match).group(1))
        return frozenset(names)

    # -- scanning --------------------------------------------------------------------------

    def scan(self, f: SwiftFile) -> None:
        code = f.masked
        swift = "|".join(SWIFT_TYPES)
        for m in re.finditer(r"(?<![\w.])(" + swift + r")\s*\(\s*label\s*:", code):
            self.add(f, m, SWIFT_TYPES[m.group(1)], m.group(1), "label", "dimensions")
        registry = "|".join(REGISTRY_TYPES)
        for m in re.finditer(r"\.(" + registry + r")\s*\(\s*name\s*:", code):
            self.add(f, m, REGISTRY_TYPES[m.group(1)], m.group(1), "name", "labels")

    def add(self, f: SwiftFile, m: re.Match, kind: str, maker: str, name_arg: str, labels_arg: str) -> None:
        open_paren = m.start() + m.group(0).index("(")
        close = balanced(f.code, open_paren)
        where = f"{f.path.relative_to(ROOT) if f.path.is_relative_to(ROOT) else f.path}:{f.line(m.start())}"
        if close < 0:
            self.notes.append(f"{where}: could not parse the {maker}(…) call")
            return
        args = dict((label, value) for label, value in parse_args(f.code[open_paren + 1 : close]) if label)
        if maker == "Recorder" and args.get("aggregate", "true").strip() == "false":
            kind = "gauge"
        labels = self.resolve_labels(args.get(labels_arg), f, m.start())
        for name in self.resolve_label(args.get(name_arg, ""), f, m.start()):
            if name.strip("*_") == "":
                self.unresolved.append(
                    f"{where}: cannot tell the metric name of {maker}({name_arg}: {args.get(name_arg)}): write it as a "
                    "literal, a string constant, or an interpolation of a constant or of a parameter called with literals")
            else:
                self.definitions.append(Definition(name, kind, labels, where))


# --------------------------------------------------------------------------------------------
# scrapes, the table, PromQL


def read_scrapes(paths: list[str], problems: list[str]) -> dict[str, tuple[str, set[str], str]]:
    """name → (type, label names seen, file) from `# TYPE` lines and samples."""
    found: dict[str, tuple[str, set[str], str]] = {}
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as error:
            problems.append(f"--scrape {path}: {error.strerror}")
            continue
        types: dict[str, str] = {}
        for line in lines:
            m = re.match(r"#\s*TYPE\s+([A-Za-z_:][\w:]*)\s+(\w+)", line)
            if m:
                types[m.group(1)] = m.group(2)
                found.setdefault(m.group(1), (m.group(2), set(), path))
                continue
            m = re.match(r"([A-Za-z_:][\w:]*)(\{([^}]*)\})?\s", line)
            if not m or line.startswith("#"):
                continue
            name = m.group(1)
            if name not in types:
                for suffix in HISTOGRAM_SUFFIXES:
                    base = name[: -len(suffix)] if name.endswith(suffix) else None
                    if base and types.get(base) in ("histogram", "summary"):
                        name = base
                        break
            if name in found:
                labels = set(re.findall(r"([A-Za-z_]\w*)\s*=", m.group(3) or "")) - {"le", "quantile"}
                found[name][1].update(labels)
    return found


@dataclass
class Row:
    name: str
    type: str
    labels: frozenset[str]
    services: str
    line: int


def read_table(path: Path, problems: list[str]) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    order: list[str] = []
    text = path.read_text(encoding="utf-8")
    if "scripts/check-monitoring.py" not in text.split("| Name", 1)[0]:
        problems.append(f"{rel(path)}: the line above the table should say it is checked by scripts/check-monitoring.py")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5:
            problems.append(f"{rel(path)}:{number}: a row needs 5 cells (name, type, labels, services, meaning)")
            continue
        name = cells[0].strip("`")
        kind = cells[1]
        labels = frozenset(re.findall(r"`([A-Za-z_]\w*)`", cells[2]))
        if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name):
            problems.append(f"{rel(path)}:{number}: {name!r} is not a metric name")
        if kind not in TYPES:
            problems.append(f"{rel(path)}:{number}: {name}: type {kind!r} is not one of {', '.join(sorted(TYPES))}")
        if name in rows:
            problems.append(f"{rel(path)}:{number}: {name} has two rows")
        if not cells[4]:
            problems.append(f"{rel(path)}:{number}: {name} has no meaning")
        rows[name] = Row(name, kind, labels, cells[3], number)
        order.append(name)
    if order != sorted(order):
        first = next(a for a, b in zip(order, sorted(order)) if a != b)
        problems.append(f"{rel(path)}: rows are not sorted by name (first out of place: {first})")
    if not rows:
        problems.append(f"{rel(path)}: no metric rows found")
    return rows


def strip_promql(expr: str) -> tuple[str, list[tuple[str | None, list[str]]], list[str]]:
    """(expression without strings/variables/ranges/matchers/grouping, [(metric, matcher labels)], grouping labels)."""
    text = re.sub(r"#[^\n]*", " ", expr)  # PromQL comments
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', text)
    text = re.sub(r"\$\{[^}]*\}|\$\w+|\[\[\w+\]\]", " ", text)  # Grafana variables
    # Grafana's label_values(metric, label): the second argument is a label name.
    grafana_labels = re.findall(r"\blabel_values\s*\((?:[^(),{}]|\{[^}]*\})*,\s*([A-Za-z_]\w*)\s*\)", text)
    text = re.sub(r"(\blabel_values\s*\((?:[^(),{}]|\{[^}]*\})*),\s*[A-Za-z_]\w*\s*\)", r"\1)", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, subqueries
    selectors = []

    def matcher(m: re.Match) -> str:
        labels = re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", m.group(2))
        selectors.append((m.group(1), labels))
        return (m.group(1) or "") + " "

    text = re.sub(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}", matcher, text)
    grouping: list[str] = []

    def group(m: re.Match) -> str:
        grouping.extend(re.findall(r"[A-Za-z_]\w*", m.group(2)))
        return " "

    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", group, text)
    grouping.extend(grafana_labels)
    return text, selectors, grouping


def check_promql(expr: str, where: str, rows: dict[str, Row], problems: list[str]) -> set[str]:
    """Problems of one expression; returns the table metrics it uses."""
    text, selectors, grouping = strip_promql(expr)
    expr = " ".join(expr.split())  # one line in the messages
    used: set[str] = set()

    def metric_of(name: str) -> str | None:
        if name in rows:
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and rows.get(name[: -len(suffix)], Row("", "", frozenset(), "", 0)).type == "histogram":
                return name[: -len(suffix)]
        return None

    for m in re.finditer(r"(?<![\w.:\"])([A-Za-z_:][\w:]*)(\s*\()?", text):
        token, call = m.group(1), m.group(2)
        lower = token.lower()
        if call:
            if token not in PROMQL_FUNCTIONS and lower not in PROMQL_KEYWORDS:
                problems.append(f"{where}: unknown function {token}() in: {expr}")
            continue
        if lower in PROMQL_KEYWORDS or token in PROMQL_FUNCTIONS:
            continue
        metric = metric_of(token)
        if metric is None:
            problems.append(f"{where}: {token} is not a metric of docs/monitoring/metrics.md, in: {expr}")
        else:
            used.add(metric)
    known_labels = set(SCRAPE_LABELS) | {"le", "__name__"}
    for metric in used:
        known_labels |= rows[metric].labels
    for name, labels in selectors:
        metric = metric_of(name) if name else None
        allowed = set(SCRAPE_LABELS) | {"__name__"}
        if metric:
            allowed |= rows[metric].labels | ({"le"} if name.endswith("_bucket") else set())
        else:
            allowed = known_labels
        for label in labels:
            if label not in allowed:
                problems.append(f"{where}: label {label!r} is not a label of {name or 'the metrics used'}, in: {expr}")
    for label in grouping:
        if label not in known_labels:
            problems.append(f"{where}: grouping label {label!r} belongs to none of the metrics used, in: {expr}")
    return used


def dashboard_queries(node, where: str = "", templating: bool = False) -> list[tuple[str, str]]:
    """(where, PromQL) of every target `expr` and templating query in the dashboard."""
    found = []
    if isinstance(node, dict):
        if templating and node.get("name"):
            where = f"variable {node['name']!r}"
        elif node.get("title") and "gridPos" in node:
            where = f"panel {node['title']!r}"
        for key, value in node.items():
            if key == "expr" and isinstance(value, str) and value.strip():
                found.append((where, value))
            elif key == "query" and templating and isinstance(value, str) and value.strip():
                found.append((where, value))
            elif key == "query" and templating and isinstance(value, dict) and isinstance(value.get("query"), str):
                found.append((where, value["query"]))
            else:
                found.extend(dashboard_queries(value, where, templating or key == "templating"))
    elif isinstance(node, list):
        for item in node:
            found.extend(dashboard_queries(item, where, templating))
    return found


def github_anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrape", nargs="+", default=[], metavar="FILE",
                        help="saved /metrics pages (Prometheus text format) whose metrics count as exported")
    parser.add_argument("--metrics-doc", default=ROOT / "docs/monitoring/metrics.md", type=Path)
    parser.add_argument("--dashboard", default=ROOT / "docs/monitoring/grafana-dashboard.json", type=Path)
    parser.add_argument("--alerts", default=ROOT / "docs/monitoring/alerts.yml", type=Path)
    parser.add_argument("--runbooks", default=ROOT / RUNBOOK_PATH, type=Path)
    parser.add_argument("--strict", action="store_true",
                        help="refuse the table rows in PENDING that no source defines yet")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the metrics found in the sources")
    options = parser.parse_args()

    problems: list[str] = []
    notes: list[str] = []

    # 1. what the services define
    swift = SwiftMetrics([ROOT / "Shared", ROOT / "Services"])
    notes.extend(swift.notes)
    problems.extend(swift.unresolved)
    exact: dict[str, list[Definition]] = {}
    patterns: list[Definition] = []
    for d in swift.definitions:
        if "*" in d.name:
            patterns.append(d)
        else:
            exact.setdefault(d.name, []).append(d)
    scraped = read_scrapes(options.scrape, problems)
    if options.verbose:
        for name in sorted(exact):
            d = exact[name][0]
            labels = ",".join(sorted(d.labels)) if d.labels is not None else "?"
            print(f"source: {name} {d.type} {{{labels}}} {d.where}")
        for d in patterns:
            print(f"source pattern: {d.name} {d.type} {d.where}")
        for name, (kind, labels, path) in sorted(scraped.items()):
            print(f"scrape: {name} {kind} {{{','.join(sorted(labels))}}} {path}")

    # 2. the table
    rows = read_table(options.metrics_doc, problems)
    doc = rel(options.metrics_doc)
    pending = []
    for name, row in rows.items():
        where = f"{doc}:{row.line}"
        matched = [d for d in patterns if fnmatch.fnmatchcase(name, d.name)]
        if name in exact:
            for d in exact[name]:
                if d.type != row.type:
                    problems.append(f"{where}: {name} is a {row.type} in the table, a {d.type} in {d.where}")
                if d.labels is not None and d.labels != row.labels:
                    problems.append(
                        f"{where}: {name} labels {sorted(row.labels)} in the table, {sorted(d.labels)} in {d.where}")
        elif matched:
            for d in matched:
                if d.type != row.type:
                    problems.append(f"{where}: {name} is a {row.type} in the table, a {d.type} in {d.where} ({d.name})")
        elif name in scraped:
            pass
        elif name in PENDING and not options.strict:
            pending.append(name)
        else:
            problems.append(f"{where}: {name} is in the table but no service defines it (sources or --scrape)")
        if name in scraped:
            kind, labels, path = scraped[name]
            if kind != row.type:
                problems.append(f"{where}: {name} is a {row.type} in the table, a {kind} in {path}")
            extra = labels - row.labels
            if extra:
                problems.append(f"{where}: {name} has labels {sorted(extra)} in {path} that the table does not list")
    for name, definitions in sorted(exact.items()):
        if name not in rows:
            problems.append(f"{definitions[0].where}: {name} ({definitions[0].type}) is missing from {doc}")
    for d in patterns:
        if not any(fnmatch.fnmatchcase(name, d.name) for name in rows):
            problems.append(f"{d.where}: no row of {doc} matches the metric name pattern {d.name}")
    for name, (kind, _, path) in sorted(scraped.items()):
        if name not in rows:
            problems.append(f"{path}: {name} ({kind}) is missing from {doc}")
    for name in pending:
        notes.append(f"{name} accepted without a definition: {PENDING[name]} (--strict refuses it)")
    for name in sorted(PENDING):
        if name in exact or name in scraped:
            notes.append(f"{name} is defined now: remove it from PENDING in scripts/check-monitoring.py")
        elif name not in rows:
            problems.append(f"scripts/check-monitoring.py: PENDING names {name}, which {doc} does not list")

    # 3. dashboard and alerts
    used: set[str] = set()
    dashboard = rel(options.dashboard)
    try:
        board = json.loads(options.dashboard.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problems.append(f"{dashboard}: {error}")
        board = {}
    if board:
        if board.get("uid") != "fraiseql-fleet":
            problems.append(f"{dashboard}: uid should be \"fraiseql-fleet\"")
        if board.get("schemaVersion") != 39:
            problems.append(f"{dashboard}: schemaVersion should be 39")
        if not any(i.get("name") == "DS_PROMETHEUS" for i in board.get("__inputs", [])):
            problems.append(f"{dashboard}: no DS_PROMETHEUS datasource input")
        ids = [p.get("id") for p in board.get("panels", [])]
        if len(ids) != len(set(ids)):
            problems.append(f"{dashboard}: panel ids are not unique")
        queries = dashboard_queries(board)
        if not queries:
            problems.append(f"{dashboard}: no PromQL expression found")
        for where, expr in queries:
            used |= check_promql(expr, f"{dashboard}: {where}", rows, problems)

    alerts_file = rel(options.alerts)
    try:
        rules = yaml.safe_load(options.alerts.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        problems.append(f"{alerts_file}: {error}")
        rules = {}
    try:
        headings = [
            github_anchor(m.group(1))
            for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", options.runbooks.read_text(encoding="utf-8"), re.M)
        ]
    except OSError as error:
        problems.append(f"{rel(options.runbooks)}: {error.strerror}")
        headings = []
    alert_names = []
    for group in rules.get("groups", []) if isinstance(rules, dict) else []:
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            where = f"{alerts_file}: {name}"
            if "expr" not in rule:
                problems.append(f"{where}: no expr")
            else:
                used |= check_promql(str(rule["expr"]), where, rows, problems)
            if "alert" not in rule:
                continue
            alert_names.append(name)
            if "for" not in rule:
                problems.append(f"{where}: no `for:`")
            if not (rule.get("labels") or {}).get("severity"):
                problems.append(f"{where}: no severity label")
            annotations = rule.get("annotations") or {}
            if not annotations.get("summary"):
                problems.append(f"{where}: no summary annotation")
            runbook = annotations.get("runbook") or annotations.get("runbook_url")
            if not runbook:
                problems.append(f"{where}: no runbook annotation")
                continue
            target, _, anchor = str(runbook).partition("#")
            if not target.endswith(RUNBOOK_PATH):
                problems.append(f"{where}: runbook {runbook!r} does not point at {RUNBOOK_PATH}")
            if anchor != github_anchor(name):
                problems.append(f"{where}: runbook anchor #{anchor} should be #{github_anchor(name)}")
            if anchor not in headings:
                problems.append(f"{where}: runbook anchor #{anchor} is not a heading of {RUNBOOK_PATH}")
    if not alert_names:
        problems.append(f"{alerts_file}: no alert rules found")
    duplicates = {n for n in alert_names if alert_names.count(n) > 1}
    if duplicates:
        problems.append(f"{alerts_file}: alerts defined twice: {', '.join(sorted(duplicates))}")
    alert_anchors = {github_anchor(n) for n in alert_names}
    for anchor in headings:
        if anchor.startswith("fraiseql") and anchor not in alert_anchors:
            problems.append(f"{rel(options.runbooks)}: section #{anchor} has no alert in {alerts_file}")

    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if problems:
        print(f"check-monitoring: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    sources = len(exact) + len(patterns)
    print(
        f"check-monitoring: OK: {len(rows)} metrics in the table ({sources} defined in the sources"
        f"{f', {len(pending)} pending' if pending else ''}"
        f"{f', {len(scraped)} in scrapes' if scraped else ''}), "
        f"{len(used)} used by the dashboard and {len(alert_names)} alerts, every runbook anchor found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
