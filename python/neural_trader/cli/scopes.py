"""What each option applies to, and the one check that refuses an option given where it does not apply.

Every option of every command declares its :class:`Scope` (:func:`declare`): always, some tasks or models
(read from the models' declarations: their ``task`` and their config's fields), some labels, some values
of another option, or only beside (or without) another option. After parsing, :func:`check_given`
compares the options the user actually typed (:func:`given_dests`: the defaults do not count) with the
chosen model, task, checkpoint and options; an option that does not apply is refused with one line
naming it and what it applies to (exit 2), never silently ignored.

Example:
    >>> ALWAYS.test(None) is None
    True
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class Context:
    """What the scopes ask about a parsed command line, each answer computed once: the model and its
    task (``train``'s ``--model``, or the checkpoint's), the label, the checkpoint's objective."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @functools.cached_property
    def model(self) -> str:
        """The registry name: ``--model``, else the (first) checkpoint's."""
        name = getattr(self.args, "model", None)
        if isinstance(name, str):
            return name
        return self._checkpoint.model

    @functools.cached_property
    def task(self) -> str:
        """The model's declared task (``direction``, ``trend``, ``forecast``)."""
        from neural_trader.models import MODELS
        from neural_trader.workflows import task_of

        if isinstance(getattr(self.args, "model", None), str):
            return task_of(self.model)  # ConfigError for an unknown or untrainable name
        cls = MODELS.get(self.model)
        return cls.task if cls is not None else "unknown"

    @functools.cached_property
    def label(self) -> str:
        """The label recipe: ``train``'s ``--label`` or the task's default; a checkpoint's data spec's."""
        from neural_trader.data import LABELS

        if getattr(self.args, "checkpoint", None) is None:
            return self.args.label or LABELS[self.task][0]
        spec = self._checkpoint.extra.get("data")
        try:
            return str(json.loads(spec).get("label") or self.task) if spec else self.task
        except (ValueError, AttributeError):
            return self.task

    @functools.cached_property
    def objective(self) -> str:
        """What a checkpoint is scored as: ``forecast``, ``regression`` or ``classification``."""
        from neural_trader.data.spec import REGRESSION_LABELS

        if self.task == "forecast":
            return "forecast"
        return "regression" if self.label in REGRESSION_LABELS else "classification"

    @functools.cached_property
    def _checkpoint(self) -> Any:
        from neural_trader.checkpoint import Checkpoint, naming_file

        paths = self.args.checkpoint
        path = paths[0] if isinstance(paths, list) else paths
        with naming_file(path):
            return Checkpoint.read(path)


@dataclass(frozen=True)
class Scope:
    """Where an option applies: ``test(context)`` is None when it does, else the words for what the run
    is instead (``"bilstm_classifier (a direction model)"``); ``words`` says what it applies to."""

    words: str
    test: Callable[[Context], str | None]
    #: What to do instead, appended to the refusal (``{option}`` is the option's name).
    hint: str = ""

    def message(self, option: str, reason: str) -> str:
        """``--num-heads applies to ..., not to ...`` (and the hint)."""
        text = f"{option} applies to {self.words}, not to {reason}"
        return f"{text}: {self.hint.format(option=option)}" if self.hint else text

    def refuse(self, context: Context, option: str) -> str | None:
        """None when ``option`` applies to this run; else the one-line refusal."""
        reason = self.test(context)
        return None if reason is None else self.message(option, reason)

    def hinted(self, hint: str) -> Scope:
        """The same scope, its refusal ending with ``hint``."""
        return dataclasses.replace(self, hint=hint)


ALWAYS = Scope("every run of the command", lambda c: None)


def never(reason: str) -> Scope:
    """An option the command keeps for its shared group but never reads (``--device`` of ``export``)."""
    return Scope(reason, lambda c: "this command")


def tasks(*names: str, words: str) -> Scope:
    """Models whose declared ``task`` is one of ``names``."""
    return Scope(words, lambda c: None if c.task in names else f"{c.model} (a {c.task} model)")


def model_field(*fields: str) -> Scope:
    """Models whose config has one of ``fields`` (``num_heads``: the models with attention)."""
    from neural_trader.models import MODELS
    from neural_trader.workflows import trainable

    def has(name: str) -> bool:
        config = MODELS[name].config_class
        return any(f in getattr(config, "__dataclass_fields__", {}) for f in fields)

    names = [n for n in trainable() if has(n)]
    return Scope(
        f"{', '.join(names)} (models with {fields[0]})",
        lambda c: None if has(c.model) else f"{c.model} (no {fields[0]} in its config)",
    )


def labels(*names: str, words: str) -> Scope:
    """Runs whose label recipe is one of ``names``."""
    return Scope(words, lambda c: None if c.label in names else f"--label {c.label}")


def objectives(*names: str, words: str) -> Scope:
    """Checkpoints scored as one of ``names`` (``classification``, ``regression``, ``forecast``)."""
    return Scope(words, lambda c: None if c.objective in names else f"{c.model} (a {c.objective} checkpoint)")


def option_in(dest: str, values: tuple[Any, ...], default: Any, words: str) -> Scope:
    """Runs whose option ``dest`` (``default`` when not given) is one of ``values``."""
    flag = "--" + dest.replace("_", "-")

    def test(c: Context) -> str | None:
        value = getattr(c.args, dest)
        value = default if value is None else value
        if value in values:
            return None
        return f"{flag} {value}" if value is not None else f"a run without {flag}"

    return Scope(words, test)


def with_option(dest: str, words: str | None = None) -> Scope:
    """Runs where option ``dest`` was given."""
    flag = "--" + dest.replace("_", "-")
    return Scope(
        words or f"runs with {flag}", lambda c: None if _is_set(c.args, dest) else f"a run without {flag}"
    )


def without_option(dest: str, words: str | None = None) -> Scope:
    """Runs where option ``dest`` was not given."""
    flag = "--" + dest.replace("_", "-")
    return Scope(
        words or f"runs without {flag}", lambda c: f"a run with {flag}" if _is_set(c.args, dest) else None
    )


@dataclass(frozen=True)
class AllOf(Scope):
    """Where every one of ``parts`` applies; the first part that does not is the one refused."""

    parts: tuple[Scope, ...] = ()

    def refuse(self, context: Context, option: str) -> str | None:
        """The refusal of the first part that does not apply."""
        return next((m for s in self.parts if (m := s.refuse(context, option)) is not None), None)


def all_of(*scopes: Scope) -> Scope:
    """Where every one of ``scopes`` applies (the first refusal is told, with its hint)."""
    return AllOf(
        " and ".join(s.words for s in scopes),
        lambda c: next((r for s in scopes if (r := s.test(c)) is not None), None),
        parts=scopes,
    )


def _is_set(args: argparse.Namespace, dest: str) -> bool:
    value = getattr(args, dest, None)
    return value not in (None, False)


# ------------------------------------------------------------------------------------- declaration
def declare(p: argparse.ArgumentParser | Any, **scopes: Scope) -> None:
    """Attaches each option's scope, by its ``dest``, to the actions of parser (or group) ``p``.

    Raises:
        ValueError: a ``dest`` the parser does not have (a typo in the declaration).
    """
    actions = {a.dest: a for a in p._actions}
    unknown = sorted(set(scopes) - set(actions))
    if unknown:
        raise ValueError(f"no option with dest {unknown} to declare a scope for")
    for dest, scope in scopes.items():
        actions[dest].scope = scope  # type: ignore[attr-defined]


def always(p: argparse.ArgumentParser | Any, *dests: str) -> None:
    """Declares ``dests`` as applying to every run of the command."""
    declare(p, **dict.fromkeys(dests, ALWAYS))


def undeclared(p: argparse.ArgumentParser) -> list[str]:
    """Options of ``p`` without a scope (``--help`` needs none)."""
    return [
        a.option_strings[0] if a.option_strings else a.dest
        for a in p._actions
        if not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and not hasattr(a, "scope")
    ]


# ------------------------------------------------------------------------------------------ checking
@contextlib.contextmanager
def _defaults_suppressed(parsers: list[argparse.ArgumentParser]) -> Iterator[None]:
    saved = [(p, dict(p._defaults), [(a, a.default) for a in p._actions]) for p in parsers]
    try:
        for p in parsers:
            p._defaults.clear()
            for a in p._actions:
                a.default = argparse.SUPPRESS
        yield
    finally:
        for p, defaults, actions in saved:
            p._defaults.clear()
            p._defaults.update(defaults)
            for a, default in actions:
                a.default = default


def given_dests(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The ``dest`` of every option the command line gives (defaults do not count): ``argv`` parsed once
    more with every default suppressed, so only what was typed lands in the namespace."""
    commands = _subparsers(parser)
    with _defaults_suppressed([parser, *commands.values()]):
        namespace = parser.parse_args(argv)
    return set(vars(namespace))


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def check_given(parser: argparse.ArgumentParser, args: argparse.Namespace, given: set[str]) -> None:
    """Refuses the first given option that does not apply to this run.

    Raises:
        UsageError: ``--num-heads applies to lstm_attention, ... (models with num_heads), not to
            bilstm_classifier (no num_heads in its config)``.
    """
    from neural_trader.cli.options import UsageError

    command = _subparsers(parser).get(getattr(args, "command", None) or "")
    if command is None:
        return
    context = Context(args)
    for action in command._actions:
        if action.dest not in given or not action.option_strings:
            continue
        refusal = getattr(action, "scope", ALWAYS).refuse(context, action.option_strings[0])
        if refusal is not None:
            raise UsageError(refusal)
