"""The three wings' import rules, read from the source (function-local imports count too)."""

import ast
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "spyx_data")


def modules() -> dict[str, str]:
    """Every module of the package, by dotted name: its file."""
    found = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), ROOT)[: -len(".py")].split(os.sep)
                found[".".join(rel[:-1] if rel[-1] == "__init__" else rel)] = os.path.join(folder, name)
    return found


def imports(path: str, known: set[str]) -> set[str]:
    """The modules ``path`` imports, anywhere in it: spyx_data's by dotted name, others by their top name."""
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known}
    return {m if m in known else m.split(".")[0] for m in out}


GRAPH = {name: imports(path, set(modules())) for name, path in modules().items()}


def wing(name: str) -> str:
    return name.split(".")[1] if name.count(".") >= 1 and name.split(".")[1] in ("format", "read", "builder") else "top"


def test_no_module_imports_itself_back_through_others():
    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in GRAPH.get(node, ()):
                if nxt == start:
                    return path + [start]
                if nxt in GRAPH and nxt not in path and nxt.startswith("spyx_data."):
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in (cycle_from(m) for m in GRAPH if m != "spyx_data") if c and "spyx_data" not in c]
    assert not cycles, cycles[0]


def test_the_format_wing_imports_nothing_of_the_project_but_paths_and_errors():
    for name, deps in GRAPH.items():
        if wing(name) == "format":
            ours = {d for d in deps if d.startswith("spyx_data.")}
            assert all(wing(d) == "format" or d in ("spyx_data.paths", "spyx_data.errors") for d in ours), (name, ours)
            assert not deps & {"apache_beam", "tonic", "h5py", "jax", "grain", "pipelines"}, (name, deps)


def test_the_read_wing_never_imports_the_build_wing_beam_or_tonic():
    for name, deps in GRAPH.items():
        if wing(name) == "read":
            assert not any(wing(d) == "builder" for d in deps), (name, deps)
            assert not deps & {"apache_beam", "tonic", "h5py", "pipelines", "runners"}, (name, deps)


def test_importing_spyx_data_loads_no_build_module_nor_beam_nor_tonic():
    prefixes = ("spyx_data", "apache_beam", "tonic")
    code = f"import sys, spyx_data; print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    loaded = eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded and not [m for m in loaded if m.startswith(("spyx_data.builder", "apache_beam", "tonic"))], loaded


def test_the_reader_side_names_load_no_build_module():
    """The encoders, plots and the maths under them unpack and pack records by the record
    format's rule (``spyx_data.format.records``), not the build wing's."""
    code = ("import sys, spyx_data.encoders, spyx_data.plots, spyx_data.functional; spyx_data.RateCode; "
            "print(sorted(m for m in sys.modules if m.startswith('spyx_data.builder')))")
    loaded = eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == [], loaded
