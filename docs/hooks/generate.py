"""mkdocs hooks: the parts of the site made from the code at build time, so that they cannot drift.

A page asks for a generated part with a line of its own, ``<!-- generated: NAME -->``:

* ``cli``: every command's usage and flags, from the parsers the ``spyx-data`` console script
  builds (run as ``spyx-data ... --help`` would run it, in this process);
* ``datasets-table``, ``datasets-details``: the registry's datasets, their defaults from each
  dataset's build spec;
* ``benchmark-records``: the benchmark results written as JSON in ``docs/benchmarks-*.json``.

It also checks that the API reference page documents every name of ``spyx_data.__all__``. A
name it does not know, or a failure to make a part, fails the build.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import html
import importlib.metadata
import inspect
import io
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from unittest import mock

from griffe_extensions import rst_to_markdown  # beside this file, which mkdocs puts on sys.path
from mkdocs.exceptions import PluginError

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.M)
API_PAGE = "reference/api/index.md"
#: Help text is wrapped as on a terminal this wide.
COLUMNS = "100"

def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == API_PAGE:
        check_api_page(markdown)

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: no generated part named {name!r} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name](config)

    return MARKER.sub(replace, markdown)

def check_api_page(markdown: str) -> None:
    """Fail the build if the API page leaves out a name of ``spyx_data.__all__``."""
    import spyx_data

    documented = set(re.findall(r"^::: spyx_data\.(\w+)\s*$", markdown, re.M))
    missing = sorted(set(spyx_data.__all__) - documented)
    if missing:
        raise PluginError(f"{API_PAGE} documents no {', '.join(missing)} (in spyx_data.__all__): add a "
                          "'::: spyx_data.NAME' line for each")

def cell(text: str) -> str:
    """Plain text for a Markdown table cell."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")

# --- the command line -----------------------------------------------------------------------------

class _Shown(BaseException):
    """Stops a command at the parser that was about to print its help (not an ``Exception``, so
    that the command's own error handling lets it through)."""

    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__()
        self.parser = parser

def console_script() -> Callable[[Sequence[str]], Any]:
    """The function the installed ``spyx-data`` command runs."""
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="spyx-data")
    return entry.load()

def run_help(argv: Sequence[str]) -> argparse.ArgumentParser | str:
    """Run ``spyx-data ARGV`` (asking for help) as the console script does: the argparse parser
    that would have printed the help or, for a command whose help is its own text, that text."""
    main = console_script()
    out = io.StringIO()

    def shown(parser: argparse.ArgumentParser, file: Any = None) -> None:
        raise _Shown(parser)

    with mock.patch.object(argparse.ArgumentParser, "print_help", shown), contextlib.redirect_stdout(out):
        try:
            code = main(list(argv))
        except _Shown as e:
            return e.parser
        except SystemExit as e:
            code = e.code
    if code not in (0, None) or not out.getvalue().strip():
        raise PluginError(f"spyx-data {' '.join(argv)} exited {code} and printed no help")
    return out.getvalue()

def flags_table(parser: argparse.ArgumentParser) -> Iterator[str]:
    formatter = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue  # --help itself, the commands (listed apart), options --help does not show
        if action.option_strings:
            takes = "" if action.nargs == 0 else f" {formatter._metavar_formatter(action, action.dest.upper())(1)[0]}"
            flag = ", ".join(f"`{option}{takes}`" for option in action.option_strings)
        else:
            flag = f"`{action.metavar or action.dest}`"
        if action.required or not action.option_strings:
            default = "required"
        elif action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
            default = ""
        else:
            default = f"`{action.default}`"
        what = formatter._expand_help(action) if action.help else ""
        if action.choices and not isinstance(action.choices, dict):
            what = f"{what} (one of {', '.join(map(str, action.choices))})".strip()
        rows.append(f"| {flag} | {default} | {cell(rst_to_markdown(what))} |")
    if rows:
        yield "| flag | default | what it does |"
        yield "| --- | --- | --- |"
        yield from rows

def parser_section(title: str, parser: argparse.ArgumentParser, note: str = "") -> Iterator[str]:
    yield f"### `{title}`"
    yield ""
    if note:
        yield note
        yield ""
    yield "```text"
    yield parser.format_usage().strip()
    yield "```"
    yield ""
    if parser.description:
        yield rst_to_markdown(parser.description)
        yield ""
    yield from flags_table(parser)
    yield ""

def registry() -> dict[str, Any]:
    """The datasets of the registry, by name."""
    from spyx_data.builder import registry as registry_lib

    return dict(registry_lib.REGISTRY)

def cli_reference(config: Any) -> str:
    with mock.patch.dict(os.environ, COLUMNS=COLUMNS):  # the width argparse wraps help to
        return "\n".join(cli_sections())

def cli_sections() -> list[str]:
    top = run_help(["--help"])
    if not isinstance(top, argparse.ArgumentParser):
        raise PluginError("spyx-data --help printed no argparse help")
    lines = ["### `spyx-data`", "", "```text", top.format_help().strip(), "```", "",
             "| command | what it does |", "| --- | --- |"]
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    lines += [f"| [`{c.dest}`](#spyx-data-{c.dest}) | {cell(c.help or '')} |" for c in commands._choices_actions]
    lines.append("")
    for name in commands.choices:
        if name == "build":
            text = run_help(["build", "--help"])
            lines += ["### `spyx-data build`", "", "```text", str(text).rstrip(), "```", ""]
            continue
        lines += parser_section(f"spyx-data {name}", run_help([name, "--help"]))
    for name in registry():
        lines += parser_section(f"spyx-data build {name}", run_help(["build", name, "--help"]),
                                f"Also `python -m pipelines.tonic --dataset={name}`, with the same flags.")
    for name in ("encode", "recordings"):
        lines += parser_section(f"spyx-data build {name}", run_help(["build", name, "--help"]),
                                f"Also `python -m pipelines.{name}`, with the same flags.")
    return lines

# --- the datasets --------------------------------------------------------------------------------

def dataset_module(info: Any) -> Any:
    """The module that holds a dataset (its recordings' format, its fixture)."""
    return getattr(info, "module", None) or inspect.getmodule(info.fixture)

def sensor(info: Any) -> str:
    width, height, polarities = info.sensor
    if height == 1 and polarities == 1:
        return f"{width} units"
    return f"{width} × {height} × {polarities}"

def splits(info: Any) -> str:
    text = ", ".join(info.splits)
    fraction = getattr(info, "seeded_test_fraction", None)
    return f"{text} (seeded, {fraction:.0%} test)" if fraction else text

def defaults(info: Any) -> dict[str, Any]:
    """The build spec's configuration with no option given: the dataset's defaults."""
    return info.spec().config()

def class_count(info: Any) -> str:
    return str(len(info.classes)) if info.classes else "one per class folder"

def tonic_class(info: Any) -> str:
    name = getattr(info, "tonic_class", None)
    return f"`{name}`" if name else "none"

def options(info: Any, sep: str = ", ") -> str:
    """The dataset's own options with their defaults, joined by ``sep``."""
    config = defaults(info)
    return sep.join(f"`--{o}`" + (f" ({json.dumps(config[o])})" if o in config else "") for o in info.options) or "none"

def datasets_table(config: Any) -> str:
    lines = ["| `--dataset` | tonic class | splits | sensor (tonic order) | classes | default `--sample_T` / "
             "`--duration_ms` | time origin | options (default) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, info in registry().items():
        config_ = defaults(info)
        lines.append(f"| [`{name}`](#{name}) | {tonic_class(info)} | {splits(info)} | {sensor(info)} | "
                     f"{class_count(info)} | {config_['sample_T']} / {config_['duration_ms']} | "
                     f"{config_['time_origin']} | {options(info, '<br>')} |")
    return "\n".join(lines)

def locations(info: Any) -> str:
    where: dict[str, list[str]] = {}
    for split, location in info.locations.items():
        where.setdefault(location, []).append(split)
    suffix = f"; `*{info.files.suffix}` recordings below" if getattr(info, "files", None) else ""
    return ", ".join(f"`{location}` ({', '.join(names)})" for location, names in where.items()) + suffix

def datasets_details(config: Any) -> str:
    lines = []
    for name, info in registry().items():
        module = dataset_module(info)
        summary = (inspect.getdoc(module) or "").split("\n\n")[0]
        config_ = defaults(info)
        lines += [f"### `{name}`", "", rst_to_markdown(" ".join(summary.split())), ""]
        lines += [f"- **build**: `spyx-data build {name} --data_dir=./data --output_dir=./shards`",
                  f"- **files under `--data_dir`**: {locations(info)}",
                  f"- **fetched by**: {fetched_by(info)}",
                  f"- **splits**: {splits(info)}",
                  f"- **sensor**: {sensor(info)}",
                  f"- **default window**: `--sample_T={config_['sample_T']}` bins over "
                  f"`--duration_ms={config_['duration_ms']}`",
                  f"- **[time origin](#time-origin)**: {config_['time_origin']}",
                  f"- **options** (default): {options(info)}",
                  f"- **module**: `{module.__name__}`",
                  f"- **classes**: {class_names(info)}", ""]
    return "\n".join(lines)

def fetched_by(info: Any) -> str:
    unfetchable = getattr(info, "unfetchable", None)
    if unfetchable:
        return cell(f"not fetched: {unfetchable}")
    name = getattr(info, "tonic_class", None)
    if not name:
        return "not fetched: place the files there yourself"
    return f"`tonic.datasets.{name}`, into `--data_dir`, when a split is missing"

def class_names(info: Any) -> str:
    if not info.classes:
        return "the class folders, sorted: label `k` is the `k`-th"
    return f"{len(info.classes)}: " + ", ".join(f"{k} `{c}`" for k, c in enumerate(info.classes))

# --- the benchmark records -----------------------------------------------------------------------

def benchmark_records(config: Any) -> str:
    lines = []
    for path in sorted(glob.glob(os.path.join(config["docs_dir"], "benchmarks-*.json"))):
        with open(path) as f:
            record = json.load(f)
        name = os.path.basename(path)
        lines += [f"### [`docs/{name}`](../{name})", "",
                  f"`python -m benchmarks --size={record['size']} --repeats={record['repeats']} --json=docs/{name}`:",
                  "", "| stage | baseline | spyx-data | ratio | goal | met |", "| --- | --- | --- | --- | --- | --- |"]
        for s in record["stages"]:
            lines.append(f"| {cell(s['stage'])} | {cell(s['baseline'])} | {cell(s['spyx_data'])} | {s['ratio']:.3f} | "
                         f"{cell(s['goal'])} | {'met' if s['met'] else 'missed'} |")
        lines.append("")
        if "compression" in record:
            lines += ["| compression | size | write | read |", "| --- | --- | --- | --- |"]
            lines += [f"| {c} | {r['mib']:.1f} MiB | {r['write_s']:.3f} s | {r['read_s']:.4f} s |"
                      for c, r in record["compression"].items()]
            lines.append("")
        if "builds" in record:
            builds = dict(record["builds"])
            pool = builds.pop("pool_s", {})
            lines += ["| build | wall | task time | launcher peak | peak per worker |", "| --- | --- | --- | --- | --- |"]
            lines += [f"| {cell(b)} | {r['wall_s']:.1f} s | {r['tasks_s']:.1f} s | {r['launcher_mib']:.0f} MiB | "
                      f"{', '.join(f'{m:.0f}' for m in r['worker_mib'])} MiB |" for b, r in builds.items()]
            lines += [f"| plain pool, {n} process{'es' if n != '1' else ''} | | {s:.1f} s | | |" for n, s in pool.items()]
            lines.append("")
    if not lines:
        raise PluginError(f"no benchmarks-*.json in {config['docs_dir']}")
    return "\n".join(lines)

GENERATORS: dict[str, Callable[[Any], str]] = {
    "cli": cli_reference,
    "datasets-table": datasets_table,
    "datasets-details": datasets_details,
    "benchmark-records": benchmark_records,
}
