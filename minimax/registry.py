"""Where a component says what it is: a data set, a game, a player or a metric declares its name, options, presets
and properties in its own module, once, and everything else — ``--help``, the configuration's checks and presets,
``minimax eval``'s commands, the report's rows, docs/reference.md — is derived from here.

A component module binds ``COMPONENTS`` to a list of declarations, each a dict of literals (a name may stand
for one of :mod:`minimax.catalogue`'s constants)::

    COMPONENTS = [{"kind": "game", "name": "hinge", "object": "HingeGame", "help": "hinge loss (Lim & Ye 2017)",
                   "real_sign": True, "on": {"ring": {"steps": 6000, "lr": 1e-4}}}]

This module reads the declarations from the modules' source (``ast``), without importing them, so that the
command line's ``--help`` and the configuration load no torch; :func:`component` imports the module when a run
needs the object. Where they are found: every module of :mod:`minimax.data`, :mod:`minimax.games`,
:mod:`minimax.players` and :mod:`minimax.evaluation`, then
the modules named in the environment variable ``MINIMAX_PLUGINS`` (comma-separated) and in the entry-point group
``minimax.components`` (an installed package's ``[project.entry-points."minimax.components"]``).

A data set (``kind = "dataset"``): see :class:`Dataset`.

A game (``kind = "game"``): ``object``, a callable of its module called with ``arguments`` and the options it
reads, gives the object Algorithm 1 plays through (:class:`minimax.games.GameObjective`); ``options`` maps each
option it reads to its declaration (``{"type", "default", "help", ...}``, see :class:`Option`) or to None for an
option another game declares; ``real_sign`` (D's raw output has the sign of its decision on a real image, which
ADA reads), ``per_example_penalty`` (its own penalty is per example: no packing, no batch-normalised D);
``preset`` (its paper's settings), ``on`` (settings measured on a data set) and ``shortfalls`` (where it stays
below a data set's goal, in words); ``order``, its place in lists.

A player architecture (``kind = "player"``): ``object``, a callable of its module called as ``object(shape,
latent_dim, classes, pack, g_output, **options)``, gives (G, D) (G built first: the same seed, the same weights);
``options`` as a game's; see :class:`Player` for its properties.

A metric (``kind = "metric"``): see :class:`Metric`; its module is its runner (``SCORES``, ``run``, ``check``).
An option's name is one setting of a run (a ``TrainConfig`` field) across all components: declared once.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import math
import os
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import catalogue
from .errors import MinimaxError

PACKAGE = Path(__file__).resolve().parent
BUILT_IN = ("data", "games", "players", "evaluation")  # the packages whose modules are read for declarations
PLUGINS_VARIABLE = "MINIMAX_PLUGINS"
ENTRY_POINTS = "minimax.components"
KINDS = ("dataset", "game", "player", "metric")
MAX_WIDTH = 2**16  # a width option's largest entry: a 65536 x 65536 layer is already 17 GB of weights


@dataclass(frozen=True)
class Option:
    """A component's option: its type ('int', 'float', 'str', 'bool': a switch, or 'widths': 1 to 64 positive
    integers, or none with ``empty``), default, one-line help (and ``more``), and range: ``choices``, or ``min``
    (inclusive), ``max`` (inclusive) or ``below`` (exclusive); ``auto``: the word that stands for a default of None
    ("auto")."""

    name: str
    type: str
    default: Any
    help: str
    more: str = ""
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    below: float | None = None
    auto: str | None = None
    empty: bool = False  # a 'widths' option may be empty (the component then chooses)
    elsewhere: str = ""  # what to use instead, said when the option is given to a component that does not read it

    @property
    def need(self) -> str:
        """The range in words: 'in [0, 1)', '>= 0', 'in [1, 1000]'."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type == "widths":
            return "empty or 1 to 64 integers" if self.empty else f"1 to 64 integers in [1, {MAX_WIDTH}]"
        lo, hi = self.min, self.max if self.max is not None else self.below
        if lo is not None and hi is not None:
            return f"in [{lo:g}, {hi:g}{']' if self.max is not None else ')'}"
        if lo is not None:
            return f">= {lo:g}"
        return f"{'<=' if self.max is not None else '<'} {hi:g}" if hi is not None else ""

    def check(self, v) -> bool:
        """Whether the value ``v`` (of the option's type) is in its range."""
        if v is None:
            return self.default is None
        if self.choices:
            return v in self.choices
        if self.type == "widths":
            return (self.empty and len(v) == 0) or (1 <= len(v) <= 64 and all(
                isinstance(h, int) and not isinstance(h, bool) and 0 < h <= MAX_WIDTH for h in v))
        if self.type in ("int", "float"):
            return (math.isfinite(v) and (self.min is None or v >= self.min) and (self.max is None or v <= self.max)
                    and (self.below is None or v < self.below))
        return True

    def convert(self, raw: Any, label: str, text: bool = False) -> Any:
        """``raw`` as the option's type, checked against its range (``text``: as written on a command line); a
        MinimaxError naming ``label`` otherwise. A Python value must already have the type (no 10.7 for an int)."""
        kind = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
                "widths": "a comma-separated list of integers"}[self.type]
        bad = MinimaxError(f"{label} must be {kind}{' (' + self.need + ')' if self.need else ''}, got {raw!r}"[:300])
        if raw is None or (self.auto is not None and raw == self.auto):
            if self.default is None:
                return None
            raise bad
        if self.type == "bool":
            if not isinstance(raw, bool):
                raise bad
            return raw
        if text and isinstance(raw, str) and self.type in ("int", "float", "widths"):
            try:
                raw = int(raw) if self.type == "int" else float(raw) if self.type == "float" else \
                    tuple(int(h) for h in raw.split(",") if h.strip())
            except ValueError:
                raise bad from None
        if self.type == "widths":  # (a list from Python: its entries' types are the range check's)
            if not isinstance(raw, (tuple, list)):
                raise bad
            raw = tuple(raw)
        elif isinstance(raw, bool) or (self.type == "int" and not isinstance(raw, int)) or \
                (self.type == "float" and not isinstance(raw, (int, float))) or \
                (self.type == "str" and not isinstance(raw, str)):
            raise bad
        value = float(raw) if self.type == "float" else raw
        if not self.check(value):
            raise MinimaxError(f"{label} must be {self.need}, got {raw!r}"[:300])
        return value

    def shown_default(self) -> str:
        if isinstance(self.default, tuple):
            return ",".join(map(str, self.default))
        return self.auto if self.default is None and self.auto else str(self.default)


@dataclass(frozen=True)
class Dataset:
    """A data set's declaration. ``object``, a callable of its module, called as
    ``object(data_dir, device, output, split, **arguments, **reads)``, gives its :class:`~minimax.data.DataSource`
    (``output``: G's output non-linearity, 'tanh' or 'sigmoid', which fixes the images' scale; ``split``: 'train' or
    'test'; ``reads``: the run's settings it takes, e.g. ``image_size``). ``images``: whether it holds images (else
    points, whose density the source knows); ``test_split``: whether it has a held-out split (the reference set of
    FID and the Parzen estimate); ``download``: whether ``minimax download`` fetches it; ``preset``: its measured
    settings (the first layer of the presets)."""

    name: str
    module: str
    object: str
    help: str
    arguments: dict = field(default_factory=dict)
    images: bool = True
    test_split: bool = False
    download: bool = False
    reads: tuple[str, ...] = ()
    preset: dict = field(default_factory=dict)
    order: int = 1000


@dataclass(frozen=True)
class Game:
    """A game's declaration (the module docstring says what each field means)."""

    name: str
    module: str
    object: str
    help: str
    arguments: dict = field(default_factory=dict)
    options: tuple[str, ...] = ()  # the options it reads (declared by it or by another game)
    real_sign: bool = False
    per_example_penalty: bool = False
    preset: dict = field(default_factory=dict)
    on: dict = field(default_factory=dict)
    shortfalls: dict = field(default_factory=dict)
    order: int = 1000


@dataclass(frozen=True)
class Player:
    """A player architecture's declaration: ``condition``, how a conditional one takes its class ('concat',
    'projection'; None: it has no conditional form); ``pack``, whether its D judges packed samples (PacGAN), and
    ``pack_with_condition`` also in the conditional game; ``images``, whether it needs image data; ``g_output``, G's
    output non-linearity, which fixes the scale of image data ('tanh', 'sigmoid'); ``marginals``, whether G's output
    biases can start at the data's marginals; ``d_normalises_batch``, whether D normalises across the minibatch (True,
    or the option values under which it does: ``{"d_norm": "batch"}``), so that a per-example penalty is refused;
    ``preset``, its measured settings (a layer of the presets)."""

    name: str
    module: str
    object: str
    help: str
    options: tuple[str, ...] = ()
    condition: str | None = None
    pack: bool = False
    pack_with_condition: bool = False
    images: bool = True
    g_output: str = "tanh"
    marginals: bool = False
    d_normalises_batch: bool | dict = False
    preset: dict = field(default_factory=dict)
    order: int = 1000


@dataclass(frozen=True)
class Metric:
    """A score ``minimax eval NAME`` writes to ``RUN_DIR/NAME.json``: what it measures (the command's help), the data
    sets it takes (the first: ``--real``'s default), its headline fields (the table's columns, checked finite), the
    report's rows (a label and a format of the record's numbers; ``p[...]``: its protocol's fields), whether it
    takes ``--features`` (and which by default) and ``--real-dir``, N without ``--n``, and its own options
    (:class:`Option`: ``minimax eval NAME --flag`` and ``minimax.evaluate(..., name=value)``, checked alike). Its
    module is its runner (what it scores against what, the printed lines, its score fields and the refusals it
    makes before any work); its estimator lives in :mod:`minimax.metrics`."""

    name: str
    module: str
    help: str
    datasets: tuple[str, ...]
    headline: tuple[str, ...]
    report: tuple[tuple[str, str], ...] = ()
    features: bool = False  # the classifier's features or Inception-v3's (--features)
    reference: bool = False  # compared with a reference set: the test split, or --real-dir
    default_features: str = "classifier"
    default_n: int = 10_000
    options: tuple[Option, ...] = ()
    order: int = 1000

    @property
    def file(self) -> str:
        return f"{self.name}.json"

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)


# ------------------------------------------------------------------------------------------------ reading
def _literal(node: ast.expr, where: str) -> Any:
    """The value of a declaration's expression: literals, where a bare name is one of catalogue's constants."""
    class Names(ast.NodeTransformer):
        def visit_Name(self, n: ast.Name) -> ast.AST:
            if n.id.isupper() and hasattr(catalogue, n.id):
                return ast.copy_location(ast.Constant(getattr(catalogue, n.id)), n)
            raise MinimaxError(f"{where}: COMPONENTS names {n.id!r}; a declaration holds literals and "
                               "minimax.catalogue's constants only")
    try:
        return ast.literal_eval(Names().visit(node))
    except ValueError as e:
        raise MinimaxError(f"{where}: COMPONENTS is not a literal ({e})") from None


def declarations_in(path: Path, where: str) -> list[dict]:
    """The declarations bound to ``COMPONENTS`` in the Python file ``path`` (none: [])."""
    text = path.read_text(encoding="utf-8")
    if "COMPONENTS" not in text:
        return []
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("COMPONENTS = [")), None)
    body = None
    if start is not None:  # the statement alone, to its closing bracket at column 0: a fraction of the file to parse
        end = next((i for i in range(start, len(lines)) if lines[i].startswith(("]", "}]"))), start)
        try:
            body = ast.parse("\n".join(lines[start:end + 1])).body
        except SyntaxError:
            body = None
    for node in body if body and len(body) == 1 else ast.parse(text, filename=str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) \
            else []
        if any(isinstance(t, ast.Name) and t.id == "COMPONENTS" for t in targets) and node.value is not None:
            value = _literal(node.value, where)
            if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
                raise MinimaxError(f"{where}: COMPONENTS must be a list of dicts")
            return value
    return []


def plugin_modules() -> list[str]:
    """The plugin modules: ``MINIMAX_PLUGINS`` (comma-separated), then the ``minimax.components`` entry points."""
    named = [m.strip() for m in os.environ.get(PLUGINS_VARIABLE, "").split(",") if m.strip()]
    return list(dict.fromkeys(named + entry_point_modules()))


def entry_point_modules() -> list[str]:
    """The modules of the installed distributions' ``minimax.components`` entry points, read from their
    ``entry_points.txt`` directly (importlib.metadata costs ~50 ms at every ``minimax --help``); a file that cannot
    be read is passed over, as a broken distribution must not stop minimax."""
    found = []
    for folder in sys.path:
        try:
            files = [*Path(folder or ".").glob("*.dist-info/entry_points.txt"),
                     *Path(folder or ".").glob("*.egg-info/entry_points.txt")]
        except OSError:
            continue
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if f"[{ENTRY_POINTS}]" not in text:
                continue
            section = text.split(f"[{ENTRY_POINTS}]", 1)[1].split("\n[", 1)[0]
            found += [line.split("=", 1)[1].split(":")[0].strip() for line in section.splitlines()
                      if "=" in line and not line.lstrip().startswith(("#", ";"))]
    return found


def _module_file(module: str) -> Path:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as e:
        raise MinimaxError(f"plugin {module!r} ({PLUGINS_VARIABLE} or entry point {ENTRY_POINTS}) cannot be "
                           f"found: {e}") from None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise MinimaxError(f"plugin {module!r} ({PLUGINS_VARIABLE} or entry point {ENTRY_POINTS}) is not a Python "
                           "source module on the path")
    return Path(spec.origin)


def _built_in() -> list[tuple[str, Path]]:
    return [(f"minimax.{package}.{p.stem}", p) for package in BUILT_IN
            for p in sorted((PACKAGE / package).glob("*.py")) if p.stem != "__init__"]


_KEYS = {"dataset": {f.name for f in Dataset.__dataclass_fields__.values()} - {"module"} | {"kind"},
         "game": {f.name for f in Game.__dataclass_fields__.values()} - {"module"} | {"kind"},
         "player": {f.name for f in Player.__dataclass_fields__.values()} - {"module"} | {"kind"},
         "metric": {f.name for f in Metric.__dataclass_fields__.values()} - {"module"} | {"kind"}}
_OPTION_KEYS = set(Option.__dataclass_fields__) - {"name"}


def _option(name: str, d: Any, where: str) -> Option:
    if not isinstance(d, dict) or not {"type", "default", "help"} <= set(d) or set(d) - _OPTION_KEYS \
            or d["type"] not in ("int", "float", "str", "bool", "widths"):
        raise MinimaxError(f"{where}: option {name!r} must be a dict with type (int, float, str, bool or widths), "
                           f"default and help, and at most {', '.join(sorted(_OPTION_KEYS))}")
    option = Option(name=name, **{k: tuple(v) if k == "choices" else v for k, v in d.items()})
    if not option.check(option.default):
        raise MinimaxError(f"{where}: option {name!r}'s default {option.default!r} is not {option.need}")
    return option


@dataclass
class Registry:
    datasets: dict[str, Dataset]
    games: dict[str, Game]
    players: dict[str, Player]
    metrics: dict[str, Metric]
    options: dict[str, Option]  # the games' and players' options (settings of a run), each declared once
    problems: list[str]  # plugins that could not be read (said by check())


@cache
def registry() -> Registry:
    """Every declaration, read once per process: built-in ones (an error is a bug: raised), then plugins (an error
    is kept for :func:`check`, so that a bad plugin does not stop ``import minimax``)."""
    datasets: dict[str, Dataset] = {}
    games: dict[str, Game] = {}
    players: dict[str, Player] = {}
    metrics: dict[str, Metric] = {}
    options: dict[str, Option] = {}
    reads: dict[str, tuple[str, str]] = {}  # option -> (a component that reads it without declaring it, where)
    problems: list[str] = []
    for module, path in [*_built_in(), *((m, None) for m in plugin_modules())]:
        where = module
        try:
            path = path or _module_file(module)
            for d in declarations_in(path, where):
                kind = d.get("kind")
                if kind not in KINDS or set(d) - _KEYS[kind] or not isinstance(d.get("name"), str):
                    raise MinimaxError(f"{where}: a declaration needs kind ({', '.join(KINDS)}) and name; unknown "
                                       f"keys: {', '.join(sorted(set(d) - _KEYS.get(kind, set()))) or 'none'}")
                name = d["name"]
                if name in {"dataset": datasets, "game": games, "player": players, "metric": metrics}[kind]:
                    raise MinimaxError(f"{where}: {kind} {name!r} is declared twice")
                fields = {k: v for k, v in d.items() if k != "kind"}
                if kind == "dataset":
                    datasets[name] = Dataset(module=module, **{**fields, "reads": tuple(fields.get("reads", ()))})
                elif kind in ("game", "player"):
                    declared = fields.get("options", {})
                    for opt, spec in declared.items():
                        if spec is None:
                            reads.setdefault(opt, (name, where))
                        elif opt in options:
                            raise MinimaxError(f"{where}: option {opt!r} is declared twice")
                        else:
                            options[opt] = _option(opt, spec, f"{where}: {kind} {name!r}")
                    cls, table = (Game, games) if kind == "game" else (Player, players)
                    table[name] = cls(module=module, **{**fields, "options": tuple(declared)})
                else:
                    fields["options"] = tuple(_option(k, v, f"{where}: metric {name!r}")
                                              for k, v in fields.get("options", {}).items())
                    metrics[name] = Metric(module=module, **fields)
        except (MinimaxError, TypeError, SyntaxError, OSError) as e:
            if module.startswith("minimax."):
                raise
            problems.append(str(e) if str(e).startswith("plugin") else f"plugin {module}: {e}")
    for opt, (name, where) in reads.items():
        if opt not in options:
            raise MinimaxError(f"{where}: {name!r} reads option {opt!r}, which no component declares")
    by_order = lambda d: dict(sorted(d.items(), key=lambda kv: kv[1].order))  # noqa: E731 (stable: file order)
    return Registry(by_order(datasets), by_order(games), by_order(players), by_order(metrics), options, problems)


def check() -> None:
    """Raise the first problem with a plugin (a one-line MinimaxError): the command line and the API call this before
    they work, so that a plugin named but not found is said, not silently missing."""
    problems = registry().problems
    if problems:
        raise MinimaxError(problems[0])


def component(module: str, name: str):
    """The object ``name`` of the component module ``module`` (imported now)."""
    return getattr(importlib.import_module(module), name)


# ------------------------------------------------------------------------------------------------ derived
def datasets() -> dict[str, Dataset]:
    return registry().datasets


def dataset_names(**properties) -> tuple[str, ...]:
    """The data sets whose declarations have these properties (``dataset_names(images=True)``), in order."""
    return tuple(n for n, d in datasets().items() if all(getattr(d, k) == v for k, v in properties.items()))


def games() -> dict[str, Game]:
    return registry().games


def players() -> dict[str, Player]:
    return registry().players


def metrics() -> dict[str, Metric]:
    return registry().metrics


def games_with(prop: str) -> tuple[str, ...]:
    """The games whose declaration sets ``prop`` (``real_sign``, ``per_example_penalty``)."""
    return tuple(n for n, g in games().items() if getattr(g, prop))


def readers(option: str) -> tuple[str, ...]:
    """The games, or the players, that read the option ``option``."""
    return tuple(n for table in (games(), players()) for n, c in table.items() if option in c.options)


def owner(option: str) -> str:
    """'game' or 'model': the setting that names the component an option belongs to."""
    return "game" if any(option in g.options for g in games().values()) else "model"
