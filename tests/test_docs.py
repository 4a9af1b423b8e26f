"""The documentation site: ``mkdocs build --strict`` of mkdocs.yml, and what its generated pages hold.

The site is built once, in this process (so the network guard covers it), into a temporary folder.
The assertions read the built HTML: every name ``spyx_data`` exports has its entry in the API
reference, the command-line reference has a section for every command ``spyx-data --help`` lists
and every dataset ``spyx-data build --help`` lists, and the datasets table has a row for every
registry dataset.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    """The built site's folder (``mkdocs build --strict``: any warning fails the build)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site_dir = str(tmp_path_factory.mktemp("site"))
    cwd = os.getcwd()
    os.chdir(ROOT)  # the hooks and mkdocstrings' paths are relative to the project, as on the command line
    try:
        build(load_config(os.path.join(ROOT, "mkdocs.yml"), site_dir=site_dir, strict=True))
    finally:
        os.chdir(cwd)
    return site_dir


def page(site: str, path: str) -> str:
    with open(os.path.join(site, path, "index.html"), encoding="utf-8") as f:
        return f.read()


def help_text(argv: list[str]) -> str:
    """What ``spyx-data ARGV --help`` prints."""
    from spyx_data import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.main([*argv, "--help"])
    return out.getvalue()


def test_api_reference_documents_every_exported_name(site):
    import spyx_data

    api = page(site, "reference/api")
    documented = set(re.findall(r'id="spyx_data\.(\w+)"', api))
    assert set(spyx_data.__all__) <= documented, sorted(set(spyx_data.__all__) - documented)
    # made from the docstrings: a parameter of GrainLoader and prestage's Returns section
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", api)).split())
    assert "process_count int | None the number of hosts (default jax.process_count() )" in text
    assert "jnp.unpackbits(obs, axis=2, count=T)" in text
    # reStructuredText roles are written as Markdown code, not printed as they are
    assert "EpochBatches" in text and not re.search(r":(func|meth|class|data|attr|exc):", text)


def test_api_reference_documents_the_public_modules(site):
    from spyx_data import errors
    from spyx_data.read import checkpoint

    errors_page = page(site, "reference/api/errors")
    kinds = [name for name, value in vars(errors).items() if isinstance(value, type)
             and issubclass(value, BaseException) and value.__module__ == errors.__name__ and not name.startswith("_")]
    assert kinds
    for name in kinds:
        assert f'id="spyx_data.errors.{name}"' in errors_page, name
    assert 'id="spyx_data.read.checkpoint.LoaderCheckpointHandler"' in page(site, "reference/api/checkpoint")
    assert checkpoint.LoaderCheckpointHandler.__doc__


def test_cli_reference_has_every_command_and_build_target(site):
    cli_page = page(site, "reference/cli")
    (commands,) = re.findall(r"\{([a-z,]+)\}", help_text([]).split("\n\n")[0])
    commands = commands.split(",")
    assert {"build", "info", "verify", "plot", "synthetic"} <= set(commands)
    for command in commands:
        assert f'id="spyx-data-{command}"' in cli_page, command

    from spyx_data.builder.registry import REGISTRY

    targets = [*REGISTRY, "encode", "recordings"]
    build_help = help_text(["build"])
    for target in targets:
        assert target in build_help, target  # the help the page was made from lists it
        assert f'id="spyx-data-build-{target}"' in cli_page, target
    # each flag a dataset takes is in its section, as its --help prints it
    shd = cli_page.split('id="spyx-data-build-shd"')[1].split('id="spyx-data-build-')[0]
    flags = set(re.findall(r"(--\w+)", help_text(["build", "shd"]))) - {"--help"}
    assert {"--data_dir", "--output_dir", "--sample_T", "--channels"} <= flags
    for flag in flags:
        assert flag in shd, flag


def test_datasets_table_lists_every_registry_dataset(site):
    from spyx_data.builder.registry import REGISTRY

    datasets = page(site, "reference/datasets")
    rows = re.findall(r'<td><a href="#([a-z0-9]+)"><code>\1</code></a></td>', datasets)
    assert rows == list(REGISTRY)
    for name, info in REGISTRY.items():
        assert f'id="{name}"' in datasets, name  # its section, one by one
        assert f"spyx-data build {name} --data_dir=./data --output_dir=./shards" in datasets


def test_readme_is_a_front_page_whose_links_reach_the_site(site):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert len(readme.splitlines()) <= 300
    links = re.findall(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)", readme)
    assert links
    for link in links:
        built = os.path.join(site, os.path.splitext(link[len("docs/"):])[0])
        if built.endswith("/index"):
            built = built[: -len("/index")]
        assert os.path.isfile(os.path.join(built, "index.html")), link
