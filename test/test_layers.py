"""The layer contract of ``sgdfuse_ros`` (docs/architecture.md), checked on the source with ``ast``.

Every import counts: top-level, inside functions and under ``TYPE_CHECKING``. A *unit* is a subpackage or a
module at the package root (``refiner``, ``config``, ``stream``...). Three rules:

- no upward import: a unit imports only units of its own layer or of the layers below;
- no cycle, neither between modules nor between units;
- no ROS import (rclpy, message packages, message_filters, cv_bridge...) outside ``sgdfuse_ros/ros/``.

``check`` takes any package folder, so the tests below also run it on small trees built to break a rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sgdfuse_ros"

# Bottom first; a unit may import its own layer and the layers below it.
LAYERS: list[set[str]] = [
    {"errors", "options", "outputs", "timing", "weights"},
    {"images", "datasets", "geometry", "visualize"},
    {"runtime", "export"},  # backends: graphs, engines, I/O specs
    {"models", "metrics", "diffusion", "registration"},  # networks, quality metrics, the refiner's
    # schedule/sampler/conditioning, thermal -> RGB registration and the alignment score
    {"masks", "methods", "refiner"},  # the pipeline's stages
    {"frame"},  # the stages as one graph from raw frames (built from the stages' modules)
    {"pipeline"},
    {"config"},  # pipelines from presets / YAML
    {"evaluation", "training", "detection"},  # research: never imported by what runs in the node
    {"bench"},
    {"stream"},  # the node's building blocks without ROS: sync, encodings, the fusion step, parameters
    {"bag"},  # rosbag2 tools without ROS
    {"ros"},  # the only layer importing ROS
    {"cli", "__main__"},
]

# Edges allowed against LAYERS: none (issue 23 removed the last ones: the refiner <-> runtime <-> diffusion
# cycle, export building models, runtime <-> export).
ISSUE_23_ALLOWED: set[tuple[str, str]] = set()

ROS_MODULES = ("rclpy", "rcl_interfaces", "sensor_msgs", "std_msgs", "builtin_interfaces", "diagnostic_msgs",
               "message_filters", "cv_bridge", "launch", "launch_ros", "rosidl_runtime_py", "lifecycle_msgs")
ROS_UNITS = {"ros"}


def module_name(path: Path, root: Path) -> str:
    """'' for the package's __init__, else the dotted name below the package: 'stream.sync', 'refiner'."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str, package: str, modules: Iterable[str]) -> tuple[set[str], set[str]]:
    """(modules of the package that ``path`` imports, external top-level names it imports)."""
    known = set(modules)
    here = name.split(".") if name else []
    if path.name != "__init__.py":
        here = here[:-1]
    own: set[str] = set()
    external: set[str] = set()

    def add(dotted: str, names: Sequence[str] = ()) -> None:
        if dotted == package or dotted.startswith(package + "."):
            rel = dotted[len(package) + 1:]
            for sub in names:  # `from pkg import module` imports the module
                child = f"{rel}.{sub}" if rel else sub
                if child in known:
                    own.add(child)
                    continue
                own.add(rel)
            if not names:
                own.add(rel)
        else:
            external.add(dotted.split(".")[0])

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level:
                base = here[:len(here) - (node.level - 1)]
                add(".".join([package, *base, *([node.module] if node.module else [])]), names)
            else:
                add(node.module or "", names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__", "optional_module"):
                add(node.args[0].value)
    own.discard(name)
    return {m for m in own if m in known or m == ""}, external


def unit(module: str) -> str:
    return module.split(".")[0]


def _cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def check(root: Path, layers: Sequence[set[str]], allowed: set[tuple[str, str]] = frozenset(),
          ros_units: set[str] = frozenset(ROS_UNITS)) -> list[str]:
    """Every breach of the contract in the package folder ``root``, one line each ([] when it holds)."""
    package = root.name
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    layer_of = {u: i for i, layer in enumerate(layers) for u in layer}
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        own, external = imports(path, name, package, files)
        graph[name] = {m for m in own if (name, m) not in allowed}
        if name and unit(name) not in layer_of:
            problems.append(f"{name}: unit {unit(name)!r} is in no layer")
        ros = sorted(e for e in external if e in ROS_MODULES)
        if ros and unit(name) not in ros_units:
            problems.append(f"{name}: ROS import {', '.join(ros)} outside {', '.join(sorted(ros_units))}")
        for target in sorted(graph[name]):
            if not name or not target:
                continue
            src, dst = layer_of.get(unit(name), -1), layer_of.get(unit(target), -1)
            if dst > src >= 0:
                problems.append(f"{name} -> {target}: upward import (layer {src} -> {dst})")
    problems += [f"module cycle: {' <-> '.join(c)}" for c in _cycles(graph)]
    units: dict[str, set[str]] = {}
    for name, targets in graph.items():
        if name:
            units.setdefault(unit(name), set()).update(unit(t) for t in targets if t and unit(t) != unit(name))
    problems += [f"package cycle: {' <-> '.join(c)}" for c in _cycles(units)]
    return problems


def test_sgdfuse_ros_follows_its_layers():
    assert check(PACKAGE, LAYERS, ISSUE_23_ALLOWED) == []


# the front doors: ``sgdfuse`` / ``python -m sgdfuse_ros`` and the node's executable
MAIN_MODULES = {"__main__", "ros.fusion_node"}


def main_blocks(root: Path) -> list[str]:
    """Modules with an ``if __name__ == "__main__":`` block."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
                    and getattr(node.test.left, "id", None) == "__name__":
                found.append(module_name(path, root))
    return found


def test_library_modules_have_no_main_block():
    """Commands are ``sgdfuse`` subcommands (sgdfuse_ros/cli/) or scripts in scripts/."""
    assert [m for m in main_blocks(PACKAGE) if m not in MAIN_MODULES] == []


def test_every_allowed_edge_still_exists():
    """The allowlist shrinks as issue 23 lands: an edge that is gone must leave it too."""
    files = {module_name(p, PACKAGE): p for p in PACKAGE.rglob("*.py")}
    stale = [(src, dst) for src, dst in sorted(ISSUE_23_ALLOWED)
             if src not in files or dst not in imports(files[src], src, "sgdfuse_ros", files)[0]]
    assert stale == []


def _tree(tmp_path: Path, sources: Mapping[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in sources.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


TOY_LAYERS = [{"low"}, {"mid"}, {"top", "ros"}]


def test_a_clean_tree_passes(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "low.py": "import os\n", "mid/__init__.py": "from ..low import x\n",
                            "mid/a.py": "from . import b\n", "mid/b.py": "", "top.py": "from .mid import a\n",
                            "ros/__init__.py": "import rclpy\n"})
    assert check(root, TOY_LAYERS) == []


def test_an_upward_import_inside_a_function_is_reported(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "low.py": "def f():\n    from .mid.a import g\n",
                            "mid/__init__.py": "", "mid/a.py": "", "top.py": ""})
    assert check(root, TOY_LAYERS) == ["low -> mid.a: upward import (layer 0 -> 1)"]
    assert check(root, TOY_LAYERS, allowed={("low", "mid.a")}) == []


def test_an_absolute_upward_import_and_a_cycle_are_reported(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "low.py": "", "mid/__init__.py": "import pkg.top\n",
                            "top.py": "from pkg import mid\n"})
    assert check(root, TOY_LAYERS) == ["mid -> top: upward import (layer 1 -> 2)", "module cycle: mid <-> top",
                                       "package cycle: mid <-> top"]


def test_an_upward_import_added_to_the_package_breaks_its_contract(tmp_path):
    """The real contract, on a copy of the package where the noise schedule imports the CLI."""
    root = tmp_path / "sgdfuse_ros"
    for path in PACKAGE.rglob("*.py"):
        (root / path.relative_to(PACKAGE)).parent.mkdir(parents=True, exist_ok=True)
        (root / path.relative_to(PACKAGE)).write_text(path.read_text())
    schedule = root / "diffusion" / "schedule.py"
    schedule.write_text(schedule.read_text() + "\n\ndef _upward():\n    from ..cli import main\n")
    cli_layer = next(i for i, layer in enumerate(LAYERS) if "cli" in layer)
    assert f"diffusion.schedule -> cli: upward import (layer 3 -> {cli_layer})" in check(root, LAYERS, ISSUE_23_ALLOWED)
    assert main_blocks(root) == main_blocks(PACKAGE)


def test_a_main_block_is_found(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "low.py": "if __name__ == '__main__':\n    pass\n"})
    assert main_blocks(root) == ["low"]


def test_ros_imports_outside_the_ros_layer_and_unlayered_units_are_reported(tmp_path):
    root = _tree(tmp_path, {"__init__.py": "", "low.py": "from sensor_msgs.msg import Image\n",
                            "top.py": "import importlib\nimportlib.import_module('rclpy')\n", "extra.py": ""})
    assert check(root, TOY_LAYERS) == ["extra: unit 'extra' is in no layer",
                                       "low: ROS import sensor_msgs outside ros", "top: ROS import rclpy outside ros"]
