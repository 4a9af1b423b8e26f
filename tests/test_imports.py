"""The project's import rules, read from the source of every module of ``spyx_data``,
``pipelines`` and ``runners``: no cycle, and the wings import one way.

An import counts wherever it stands (module level, inside a function, under ``TYPE_CHECKING``),
absolute or relative, and so does ``importlib.import_module("name")`` with a literal name.
``from package import name`` is an import of the module ``package.name`` where there is one,
else of ``package`` (a name its ``__init__`` defines). Importing a module also runs its
packages' ``__init__`` files; that is not counted as the module's own import.
"""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("spyx_data", "pipelines", "runners")


def modules() -> dict[str, str]:
    """Every module of the project's packages, by dotted name: its file."""
    found = {}
    for package in PACKAGES:
        for folder, _, names in os.walk(os.path.join(ROOT, package)):
            for name in names:
                if name.endswith(".py"):
                    rel = os.path.relpath(os.path.join(folder, name), ROOT)[: -len(".py")].split(os.sep)
                    found[".".join(rel[:-1] if rel[-1] == "__init__" else rel)] = os.path.join(folder, name)
    return found


MODULES = modules()


def imported_by(name: str, path: str) -> set[str]:
    """What module ``name`` (the file ``path``) imports: the project's modules by dotted name,
    others by their top-level name."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            submodules = {f"{module}.{alias.name}" for alias in node.names} & set(MODULES)
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    ours = set()
    for module in found:
        while module not in MODULES and "." in module and module.split(".")[0] in PACKAGES:
            module = module.rpartition(".")[0]
        ours.add(module if module in MODULES else module.split(".")[0])
    return ours - {name}


GRAPH = {name: imported_by(name, path) for name, path in MODULES.items()}


def wing(name: str) -> str:
    """``format``, ``read`` or ``builder`` for a module of a wing of ``spyx_data``; else its package."""
    parts = name.split(".")
    if parts[0] == "spyx_data" and len(parts) > 1 and parts[1] in ("format", "read", "builder"):
        return parts[1]
    return parts[0]


def a_cycle() -> list[str] | None:
    """A cycle of the project's imports (each module, then the first again), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(GRAPH[node] & set(GRAPH)):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(GRAPH):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_reader_finds_imports_of_every_kind():
    assert "spyx_data.read.prestage" in GRAPH["spyx_data"]  # module level, from a package's __init__
    assert "spyx_data.encoders" in GRAPH["spyx_data"]  # importlib.import_module, inside a function
    assert "pipelines.tonic" in GRAPH["spyx_data.cli"]  # inside a function
    assert "spyx_data.builder.registry" in GRAPH["spyx_data.loaders"]  # under TYPE_CHECKING
    assert {"spyx_data.paths", "spyx_data.errors"} <= GRAPH["spyx_data.format.manifest"]  # from spyx_data import m
    assert "apache_beam" in GRAPH["pipelines.transforms"]  # outside the project: by top-level name
    assert len(GRAPH) > 50 and all(wing(m) in ("spyx_data", "format", "read", "builder", "pipelines", "runners")
                                   for m in GRAPH)


def test_no_module_imports_itself_back_through_others():
    cycle = a_cycle()
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    saved = set(GRAPH["spyx_data.format.records"])
    GRAPH["spyx_data.format.records"].add("spyx_data.format.manifest")  # manifest imports records
    try:
        cycle = a_cycle()
        assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["spyx_data.format.manifest", "spyx_data.format.records"]
    finally:
        GRAPH["spyx_data.format.records"] = saved


def imports_of(select) -> dict[str, set[str]]:
    return {name: deps for name, deps in GRAPH.items() if select(name)}


def test_the_format_wing_imports_nothing_of_the_project_but_paths_and_errors():
    for name, deps in imports_of(lambda m: wing(m) == "format").items():
        ours = {d for d in deps if d.split(".")[0] in PACKAGES}
        assert all(wing(d) == "format" or d in ("spyx_data.paths", "spyx_data.errors") for d in ours), (name, ours)
        assert not deps & {"apache_beam", "tonic", "h5py", "jax", "grain"}, (name, deps)


def test_the_read_wing_never_imports_the_build_wing_beam_or_tonic():
    for name, deps in imports_of(lambda m: wing(m) == "read").items():
        assert not any(wing(d) in ("builder", "pipelines", "runners") for d in deps), (name, deps)
        assert not deps & {"apache_beam", "tonic", "h5py"}, (name, deps)


def test_the_build_wing_never_imports_the_beam_side_the_cli_or_the_loaders():
    for name, deps in imports_of(lambda m: wing(m) == "builder").items():
        assert not any(wing(d) in ("pipelines", "runners") for d in deps), (name, deps)
        assert not deps & {"spyx_data.cli", "spyx_data.loaders", "spyx_data"}, (name, deps)


def test_runners_never_import_the_pipelines():
    for name, deps in imports_of(lambda m: wing(m) == "runners").items():
        assert not any(wing(d) == "pipelines" for d in deps), (name, deps)


def test_the_beam_side_never_imports_the_command_line():
    for name, deps in imports_of(lambda m: wing(m) in ("pipelines", "runners")).items():
        assert not deps & {"spyx_data.cli", "spyx_data"}, (name, deps)


def loaded_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with ``prefixes`` that a fresh interpreter holds after running ``code``."""
    code += f"\nimport sys; print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.splitlines()[-1])


def test_importing_spyx_data_loads_no_build_module_nor_beam_nor_tonic():
    loaded = loaded_after("import spyx_data", ("spyx_data", "apache_beam", "tonic", "pipelines", "runners"))
    assert "spyx_data.read.split" in loaded, loaded
    assert not [m for m in loaded if m.startswith(("spyx_data.builder", "apache_beam", "tonic", "pipelines",
                                                   "runners"))], loaded


@pytest.mark.parametrize("code", [
    "import spyx_data; spyx_data.RateCode, spyx_data.rate_code",
    "import spyx_data.encoders, spyx_data.plots, spyx_data.functional",
    "import spyx_data.cli",
])
def test_the_reader_side_names_load_no_build_module(code):
    """The encoders, plots and the maths under them, and the command line until it builds, pack
    and unpack records by the record format's rule (``spyx_data.format.records``)."""
    assert loaded_after(code, ("spyx_data.builder", "apache_beam", "tonic")) == []


def test_info_verify_and_plot_load_no_build_module(written_build, tmp_path):
    build = written_build
    picture = str(tmp_path / "sample.png")
    code = ("from spyx_data import cli\n"
            f"assert cli.main(['info', {build!r}]) == 0\n"
            f"assert cli.main(['verify', {build!r}]) == 0\n"
            f"assert cli.main(['plot', {build!r}, '--index', '1', '--output', {picture!r}]) == 0\n"
            f"assert cli.main(['plot', {build!r}, '--class', '0', '--output', {picture!r}]) == 0")
    assert loaded_after(code, ("spyx_data.builder", "apache_beam", "tonic")) == []
    assert os.path.getsize(picture) > 0
