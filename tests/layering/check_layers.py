#!/usr/bin/env python3
"""Checks every #include under src/ against src/LAYERS (its format is
described at the top of that file).

Fails, naming file:line and the rule, when a file includes a module its
module may not include, a header private to other files, or a system or
third-party header not allowed there (or not listed at all); when a folder
under src/ is no module; when files include each other in a cycle (a .h and
the .cc of the same name count as one file: one noun); and when the layer
table of docs/architecture.md disagrees with src/LAYERS. Includes that
src/LAYERS allows but marks as crossing DESIGN.md's table are printed as
notes.

Usage: check_layers.py [ROOT]   (ROOT: the repository; default
$RELAY_SOURCE_DIR, else two folders up from this script)
"""
import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field

SOURCE_SUFFIXES = (".h", ".hpp", ".cc", ".cpp")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

# The C++20 standard library, its C compatibility headers and the C
# standard library: allowed anywhere unless a `header` line restricts one.
STANDARD_HEADERS = set("""
algorithm any array atomic barrier bit bitset charconv chrono codecvt compare complex concepts
condition_variable coroutine deque exception execution expected filesystem format forward_list
fstream functional future initializer_list iomanip ios iosfwd iostream istream iterator latch
limits list locale map memory memory_resource mutex new numbers numeric optional ostream queue
random ranges ratio regex scoped_allocator semaphore set shared_mutex source_location span
sstream stack stdexcept stop_token streambuf string string_view strstream syncstream
system_error thread tuple type_traits typeindex typeinfo unordered_map unordered_set utility
valarray variant vector version
cassert cctype cerrno cfenv cfloat cinttypes climits clocale cmath csetjmp csignal cstdarg
cstddef cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype
assert.h ctype.h errno.h fenv.h float.h inttypes.h iso646.h limits.h locale.h math.h setjmp.h
signal.h stdalign.h stdarg.h stdbool.h stddef.h stdint.h stdio.h stdlib.h string.h time.h
uchar.h wchar.h wctype.h
""".split())


@dataclass
class Module:
    name: str
    layer: int
    deps: dict  # dep name -> True when it crosses DESIGN.md's table ('!')
    line: int


@dataclass
class Rule:
    name: str  # a header name or a path prefix; a trailing '/' covers a folder
    where: list
    line: int

    def covers(self, spelled):
        return spelled.startswith(self.name) if self.name.endswith("/") else spelled == self.name

    def allows(self, rel):
        return any(fnmatch.fnmatchcase(rel, glob) for glob in self.where)


@dataclass
class Cycle:
    units: list
    line: int


@dataclass
class Layers:
    modules: dict = field(default_factory=dict)
    privates: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    cycles: list = field(default_factory=list)


class Report:
    def __init__(self):
        self.errors = []
        self.notes = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    def note(self, where, message):
        self.notes.append(f"{where}: note: {message}")


def parse_layers(path, report):
    layers = Layers()
    name = "src/LAYERS"
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, raw in enumerate(lines, 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{name}:{number}"
        kind, args = words[0], words[1:]
        if kind == "module":
            if len(args) < 2 or not args[1].isdigit():
                report.error(where, "expected: module NAME LAYER [DEP...]")
                continue
            deps = {}
            for dep in args[2:]:
                deps[dep.lstrip("!")] = dep.startswith("!")
            if args[0] in layers.modules:
                report.error(where, f"module {args[0]} is listed twice")
            layers.modules[args[0]] = Module(args[0], int(args[1]), deps, number)
        elif kind in ("private", "header"):
            if len(args) < 2:
                report.error(where, f"expected: {kind} NAME WHERE...")
                continue
            rule = Rule(args[0], args[1:], number)
            (layers.privates if kind == "private" else layers.headers).append(rule)
        elif kind == "cycle":
            if len(args) < 2:
                report.error(where, "expected: cycle FILE FILE...")
                continue
            layers.cycles.append(Cycle(args, number))
        else:
            report.error(where, f"unknown statement '{kind}' (module, private, header or cycle)")
    for m in layers.modules.values():
        for dep in m.deps:
            target = layers.modules.get(dep)
            if target is None:
                report.error(f"{name}:{m.line}", f"module {m.name} names unknown module {dep}")
            elif target.layer >= m.layer:
                report.error(f"{name}:{m.line}",
                             f"module {m.name} (layer {m.layer}) may not depend on {dep} "
                             f"(layer {target.layer}): a module depends only on lower layers")
    return layers


def source_files(src):
    for folder, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(SOURCE_SUFFIXES):
                path = os.path.join(folder, f)
                yield os.path.relpath(path, src).replace(os.sep, "/")


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1) == "<", m.group(2).strip()


def unit(rel):
    """The noun a file belongs to: its path without the suffix."""
    return os.path.splitext(rel)[0]


def longest(rules, spelled):
    matches = [r for r in rules if r.covers(spelled)]
    return max(matches, key=lambda r: len(r.name)) if matches else None


def check_tree(root, report):
    src = os.path.join(root, "src")
    layers = parse_layers(os.path.join(src, "LAYERS"), report)
    if report.errors:
        return
    top_folders = {e for e in os.listdir(src) if os.path.isdir(os.path.join(src, e))}
    for folder in sorted(top_folders - set(layers.modules)):
        report.error(f"src/{folder}/", f"module {folder} is not listed in src/LAYERS "
                     "(add a module line: its layer and the modules it may include)")

    edges = {}  # unit -> {unit: "file:line"}
    crossings = {}  # (module, dep) -> [file:line]
    for rel in source_files(src):
        where_file = f"src/{rel}"
        own = rel.split("/", 1)[0] if "/" in rel else None
        module = layers.modules.get(own)
        if module is None:
            if own is None:
                report.error(where_file, "a source file outside any module (src/<module>/…)")
            continue  # its folder is reported above
        for number, angled, spelled in includes(os.path.join(src, rel)):
            where = f"{where_file}:{number}"
            shown = f"<{spelled}>" if angled else f'"{spelled}"'
            first = spelled.split("/", 1)[0] if "/" in spelled else None
            if not angled and (first in top_folders or first in layers.modules):
                target = unit(spelled)
                if target != unit(rel):
                    edges.setdefault(unit(rel), {}).setdefault(target, where)
                private = longest(layers.privates, spelled)
                if private and not private.allows(rel):
                    report.error(where, f"includes {shown}: src/{private.name} is private to "
                                 f"{' '.join(private.where)} (src/LAYERS:{private.line})")
                if first == module.name:
                    continue
                if first not in layers.modules:
                    continue  # its folder is reported above
                if first not in module.deps:
                    allowed = " ".join(module.deps) or "no other module"
                    report.error(where, f"includes {shown}: module {module.name} (layer "
                                 f"{module.layer}) may not include {first} "
                                 f"(layer {layers.modules[first].layer}); it may include "
                                 f"{allowed} (src/LAYERS:{module.line})")
                elif module.deps[first]:
                    crossings.setdefault((module.name, first), []).append(where)
                continue
            rule = longest(layers.headers, spelled)
            if rule is None:
                if angled and spelled in STANDARD_HEADERS:
                    continue
                report.error(where, f"includes {shown}, which src/LAYERS does not list (add "
                             "a header line saying which files may include it)")
            elif not rule.allows(rel):
                report.error(where, f"includes {shown}, allowed only in "
                             f"{' '.join(rule.where)} (src/LAYERS:{rule.line})")

    for (name, dep), places in sorted(crossings.items()):
        m = layers.modules[name]
        report.note(f"src/LAYERS:{m.line}", f"{name} includes {dep}, which DESIGN.md's "
                    f"layer table does not allow ({len(places)} include"
                    f"{'' if len(places) == 1 else 's'}: {', '.join(places)})")
    known = {frozenset(rule.units): rule for rule in layers.cycles}
    seen = set()
    for cycle in find_cycles(edges):
        path = " -> ".join(cycle + [cycle[0]])
        how = "; ".join(edges[a][b] for a, b in zip(cycle, cycle[1:] + cycle[:1]))
        rule = known.get(frozenset(cycle))
        if rule is None:
            report.error(edges[cycle[0]][cycle[1]], f"include cycle: {path} ({how})")
        else:
            seen.add(frozenset(cycle))
            report.note(f"src/LAYERS:{rule.line}", f"include cycle allowed for now: {path} ({how})")
    for units, rule in sorted(known.items(), key=lambda kv: kv[1].line):
        if units not in seen:
            report.note(f"src/LAYERS:{rule.line}", "this cycle is gone: remove the line")
    check_architecture_doc(root, layers, report)


def find_cycles(edges):
    """One cycle (a list of units) for each strongly connected component
    of more than one unit, found without recursion (Tarjan)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    component.append(n)
                    if n == node:
                        break
                if len(component) > 1:
                    components.append(set(component))
    cycles = []
    for component in components:
        # The shortest way back to the first unit, within the component.
        first = min(component)
        previous, frontier = {first: None}, [first]
        found = None
        while frontier and found is None:
            following = []
            for n in frontier:
                for m in sorted(edges.get(n, {})):
                    if m == first:
                        found = n
                        break
                    if m in component and m not in previous:
                        previous[m] = n
                        following.append(m)
                if found is not None:
                    break
            frontier = following
        cycle, n = [], found
        while n is not None:
            cycle.append(n)
            n = previous[n]
        cycles.append(list(reversed(cycle)))
    return sorted(cycles)


def check_architecture_doc(root, layers, report):
    path = os.path.join(root, "docs", "architecture.md")
    if not os.path.exists(path):
        return
    # | layer | `src/NAME` | what it owns | may include | headers |
    rows = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = re.match(r"^\|\s*(\d+)\s*\|\s*`src/([a-z_]+)`", line)
            if m:
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                may = cells[3] if len(cells) >= 5 else None
                rows[m.group(2)] = (int(m.group(1)), may, number)
    if not rows:
        report.error("docs/architecture.md", "has no layer table (| layer | `src/module` | …)")
        return
    for name, (layer, may, number) in sorted(rows.items()):
        where = f"docs/architecture.md:{number}"
        m = layers.modules.get(name)
        if m is None:
            report.error(where, f"module {name} is not listed in src/LAYERS")
            continue
        if m.layer != layer:
            report.error(where, f"puts {name} on layer {layer}, src/LAYERS:{m.line} on layer "
                         f"{m.layer}")
        if may is None:
            report.error(where, "expected the columns: layer, module, what it owns, may "
                         "include, third-party and system headers")
            continue
        # Words in parentheses are remarks, not modules.
        listed = set(re.findall(r"[a-z_]+", re.sub(r"\([^)]*\)", "", may)))
        if listed != set(m.deps):
            report.error(where, f"says {name} may include {', '.join(sorted(listed)) or '—'}; "
                         f"src/LAYERS:{m.line} says {', '.join(sorted(m.deps)) or '—'}")
    for name, m in sorted(layers.modules.items()):
        if name not in rows:
            report.error(f"src/LAYERS:{m.line}", f"module {name} is missing from the layer "
                         "table of docs/architecture.md")


def run(root):
    report = Report()
    check_tree(root, report)
    return report


def main(argv):
    root = (argv[1] if len(argv) > 1 else os.environ.get("RELAY_SOURCE_DIR")
            or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    report = run(root)
    for line in report.notes:
        print(line)
    for line in report.errors:
        print(line)
    if report.errors:
        print(f"layering: {len(report.errors)} problem{'s' if len(report.errors) != 1 else ''} "
              "(rules: src/LAYERS)")
        return 1
    print("layering: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
