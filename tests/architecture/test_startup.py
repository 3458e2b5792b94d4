"""What start-up loads, pinned by structure rather than by time (bench/startup.py measures the time).

A pre-commit hook starts `socketguard lint` on every commit, so the command loads only what it
uses: help text needs no typed views, a view module loads when its kind is met and a view builds
its validator on first use, and the libraries of rarely used features (JSONPath for `*-from`
annotations, fuzzy matching for a misspelt annotation, TOML for a pyproject.toml that holds no
settings) load when such a feature is met. Each check runs in a fresh interpreter so that what
other tests imported cannot hide a regression.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests" / "examples" / "mageagent" / "fixed-by-rewrite"
FRONT_END_LIBRARIES = ("aiohttp", "kopf", "kubernetes")


def loaded_after(code: str, cwd: Path = ROOT) -> set[str]:
    """The modules loaded after running `code` in a fresh interpreter."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": str(ROOT / "operator")},
                          capture_output=True, text=True, check=False, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")[-2].split())


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def run_cli(*arguments: str) -> str:
    return (
        "from socketguard.cli import main\n"
        f"try:\n    main({list(arguments)!r})\nexcept SystemExit:\n    pass"
    )


def test_importing_the_command_line_loads_no_subcommand_and_no_heavy_library() -> None:
    loaded = loaded_after("import socketguard.cli")
    assert not roots(loaded) & {"pydantic", "yaml", *FRONT_END_LIBRARIES}
    assert not {name for name in loaded if name.startswith("socketguard.engine.")}


def test_lint_help_loads_no_typed_view_and_no_front_end_library() -> None:
    loaded = loaded_after(run_cli("lint", "--help"))
    assert "socketguard.cli.lint" in loaded
    assert not roots(loaded) & {"pydantic", *FRONT_END_LIBRARIES}
    assert "socketguard.engine.inventory" not in loaded


def test_views_build_their_validators_on_first_use_only() -> None:
    code = (
        "from socketguard.engine.inventory import Inventory\n"
        "from socketguard.engine.rules.registry import all_rules\n"
        "from socketguard.engine.models.base import View\n"
        "all_rules()\n"
        "def views(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from views(sub)\n"
        "built = sorted({c.__module__ for c in views(View) if c.__pydantic_complete__})\n"
        "assert not built, f'validators built at import: {built}'\n"
        "Inventory().add({'apiVersion': 'networking.istio.io/v1', 'kind': 'VirtualService',\n"
        "                 'metadata': {'name': 'web', 'namespace': 'shop'}})\n"
        "built = {c.__module__ for c in views(View) if c.__pydantic_complete__}\n"
        "assert built == {'socketguard.engine.models.istio'}, built\n"
    )
    loaded_after(code)


def view_modules(loaded: set[str]) -> set[str]:
    return {name.removeprefix("socketguard.engine.models.") for name in loaded
            if name.startswith("socketguard.engine.models.")}


def test_a_lint_loads_the_view_modules_of_the_kinds_it_meets_only() -> None:
    # Deployments, Services, an Istio Gateway and a VirtualService: no Ingress, Gateway API,
    # Traefik, Argo Rollouts or KEDA object, so none of those views (nor their routers' cookie parser).
    loaded = loaded_after(run_cli("lint", str(EXAMPLE), "--fail-on", "never"))
    assert "socketguard.engine.analysis" in loaded  # the lint did run
    assert view_modules(loaded) == {"base", "istio", "removed", "services", "workloads"}
    assert "http.cookies" not in loaded


def test_a_kind_met_loads_its_view_module() -> None:
    gateway_api = ROOT / "manifests" / "examples" / "mageagent-gateway-api" / "fixed"
    loaded = loaded_after(run_cli("lint", str(gateway_api), "--fail-on", "never"))
    assert {"gatewayapi", "workloads", "services"} <= view_modules(loaded)
    assert not view_modules(loaded) & {"argo", "ingress", "keda", "traefik"}


def test_a_pyproject_without_settings_is_passed_over_without_a_toml_parser(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n', encoding="utf-8")
    loaded = loaded_after(run_cli("lint", str(EXAMPLE), "--fail-on", "never"), cwd=tmp_path)
    assert "socketguard.engine.analysis" in loaded
    assert "tomllib" not in loaded


def test_a_lint_without_their_features_loads_neither_jsonpath_nor_fuzzy_matching() -> None:
    loaded = loaded_after(run_cli("lint", str(EXAMPLE), "--fail-on", "never"))
    assert "socketguard.engine.analysis" in loaded  # the lint did run
    assert not roots(loaded) & {"jsonpath_ng", "difflib", *FRONT_END_LIBRARIES}


def test_a_lint_outside_a_repository_loads_neither_gitignore_matching_nor_process_running(tmp_path: Path) -> None:
    # No .gitignore in or above the directory (tmp_path is outside any repository) and no chart
    # or Kustomize directory to render: neither pathspec nor subprocess has anything to do.
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for source in EXAMPLE.iterdir():
        (manifests / source.name).write_bytes(source.read_bytes())
    loaded = loaded_after(run_cli("lint", str(manifests), "--fail-on", "never"), cwd=tmp_path)
    assert "socketguard.engine.analysis" in loaded  # the lint did run
    assert not roots(loaded) & {"pathspec", "subprocess", "shlex"}


def test_a_gitignore_met_loads_pathspec(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / ".gitignore").write_text("rendered/\n", encoding="utf-8")
    (manifests / "app.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n", encoding="utf-8")
    loaded = loaded_after(run_cli("lint", str(manifests), "--fail-on", "never"), cwd=tmp_path)
    assert "pathspec" in loaded


def test_view_classes_cost_no_compiling_when_created_or_built() -> None:
    # pydantic compiles a string annotation when it creates the class, and parses a builtin
    # default_factory's text signature when it builds the validator; the view modules a lint
    # of the example loads give it neither.
    code = (
        "from socketguard.engine.models import base, istio, removed, services, workloads\n"
        "modules = (base, istio, removed, services, workloads)\n"
        "views = [c for m in modules for c in vars(m).values()\n"
        "         if isinstance(c, type) and issubclass(c, base.View) and c.__module__ == m.__name__]\n"
        "assert len(views) > 30, views\n"
        "stringly = [c.__name__ for c in views if any(isinstance(a, str) for a in c.__annotations__.values())]\n"
        "assert not stringly, stringly\n"
        "builtin = [f'{c.__name__}.{n}' for c in views for n, f in c.model_fields.items()\n"
        "           if f.default_factory in (list, dict, set, tuple)]\n"
        "assert not builtin, builtin\n"
    )
    loaded_after(code)


ROUTER_CODE = {"gatewayapi", "ingress_nginx", "nginx_server", "nginx_canary", "traefik", "traefik_rules", "istio"}


def router_modules(loaded: set[str]) -> set[str]:
    return {name.removeprefix("socketguard.engine.routing.") for name in loaded
            if name.startswith("socketguard.engine.routing.")} & ROUTER_CODE


def test_a_lint_loads_the_routers_of_the_objects_it_meets_only() -> None:
    # No Ingress, Gateway API route or IngressRoute in the example: only Istio's router is built.
    loaded = loaded_after(run_cli("lint", str(EXAMPLE), "--fail-on", "never"))
    assert "socketguard.engine.analysis" in loaded  # the lint did run
    assert router_modules(loaded) == {"istio"}
    assert "socketguard.engine.migration.pair" not in loaded  # only `compare` pairs routes
    gateway_api = ROOT / "manifests" / "examples" / "mageagent-gateway-api" / "fixed"
    loaded = loaded_after(run_cli("lint", str(gateway_api), "--fail-on", "never"))
    assert router_modules(loaded) == {"istio", "gatewayapi"}


def test_the_dataclasses_a_lint_loads_have_docstrings() -> None:
    # Without one, `dataclass` computes the class's signature to use as its docstring: for a class
    # of many fields, nearly half as much again as generating its methods.
    code = run_cli("lint", str(EXAMPLE), "--fail-on", "never") + (
        "\nimport dataclasses, sys\n"
        "classes = [c for name, module in list(sys.modules.items()) if name.startswith('socketguard.')\n"
        "           for c in vars(module).values() if isinstance(c, type) and c.__module__ == name]\n"
        "data = [c for c in classes if dataclasses.is_dataclass(c)]\n"
        "assert len(data) > 30, data\n"
        "undocumented = [c.__qualname__ for c in data if (c.__doc__ or '').startswith(c.__name__ + '(')]\n"
        "assert not undocumented, undocumented\n"
    )
    loaded_after(code)


def modules_at_exit_of_run(*arguments: str, environment: dict[str, str] | None = None) -> set[str]:
    """The modules loaded when `socketguard.cli.run` (the console script) ends, which it does
    without returning: an exit handler reports them."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(' '.join(sorted(sys.modules)), flush=True))\n"
        f"sys.argv = ['socketguard', *{list(arguments)!r}]\n"
        "from socketguard.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(ROOT / "operator"), **(environment or {})})
    return set(done.stdout.split("\n")[-2].split())


def test_a_lint_does_not_load_package_metadata_to_look_for_pydantic_plugins() -> None:
    loaded = modules_at_exit_of_run("lint", str(EXAMPLE), "--fail-on", "never")
    assert "socketguard.engine.models.istio" in loaded  # views were built
    assert "importlib.metadata" not in loaded


def test_a_user_who_enables_pydantic_plugins_gets_them_looked_for() -> None:
    loaded = modules_at_exit_of_run("lint", str(EXAMPLE), "--fail-on", "never",
                                    environment={"PYDANTIC_DISABLE_PLUGINS": "0"})
    assert "importlib.metadata" in loaded


def test_a_lint_exits_with_what_it_built_still_alive() -> None:
    # Freeing the inventory, the views and the findings object by object before exiting cost a
    # tenth of a large lint; the OS reclaims them at once. Every Inventory the lint built must be
    # alive when the process exits, whatever path the exit took (click raises SystemExit).
    script = (
        "import os, sys, weakref\n"
        "import socketguard.engine.inventory as inventory\n"
        "built = []\n"
        "init = inventory.Inventory.__init__\n"
        "def tracked(self, *args, **kwargs):\n"
        "    init(self, *args, **kwargs)\n"
        "    built.append(weakref.ref(self))\n"
        "inventory.Inventory.__init__ = tracked\n"
        "real_exit = os._exit\n"
        "def exit_(status):\n"
        "    sys.stderr.write(f'alive {sum(r() is not None for r in built)} of {len(built)}\\n')\n"
        "    sys.stderr.flush()\n"
        "    real_exit(status)\n"
        "os._exit = exit_\n"
        f"sys.argv = ['socketguard', 'lint', {str(EXAMPLE)!r}, '-o', 'json']\n"
        "from socketguard.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": str(ROOT / "operator")},
                          capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "alive 1 of 1"
