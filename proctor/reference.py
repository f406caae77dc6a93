"""The generated references: every CLI command and every setting, as Markdown.

`python -m proctor.reference` writes docs/reference/cli.md (from the command tree of the
`proctor` CLI) and docs/reference/settings.md (from the settings models); a test fails when the
committed files differ from what this module generates, so the references cannot go stale.
Edit the docstrings, `help=` texts and `description=`s, then rerun the command.
"""

from __future__ import annotations

import enum
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "docs" / "reference"
REGENERATE = "python -m proctor.reference"
TYPER_OWN = ("install_completion", "show_completion")  # typer's shell-completion options

# --- the CLI ------------------------------------------------------------------------------------


def cli_markdown() -> str:
    """Every command of `proctor`, with its help, usage, arguments and options."""
    import typer.main

    from proctor.cli import app

    root = typer.main.get_command(app)
    lines = ["# CLI reference", "", _generated_note(), "",
             "Every command takes `--help`. Commands that read the ledger or the queue use the "
             "settings of [settings.md](settings.md) (environment variables `PROCTOR_*`).", ""]
    for path, command, context in _commands(root, root.context_class(root, info_name="proctor")):
        lines += _command_section(path, command, context)
    return "\n".join(lines).rstrip() + "\n"


def _commands(command: Any, context: Any) -> Iterator[tuple[str, Any, Any]]:
    """(command path, command, its context) for `command` and everything under it, in order."""
    yield context.command_path, command, context
    if hasattr(command, "list_commands"):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, sub.context_class(sub, info_name=name, parent=context))


def _command_section(path: str, command: Any, context: Any) -> list[str]:
    level = "#" * min(2 + path.count(" "), 4)
    usage = " ".join([path, *command.collect_usage_pieces(context)])
    lines = [f"{level} `{path}`", "", inspect.cleandoc(command.help or ""), "",
             f"```\n{usage}\n```", ""]
    if hasattr(command, "list_commands"):
        names = command.list_commands(context)
        rows = [(f"`{name}`", _first_line(command.get_command(context, name).help))
                for name in names]
        lines += _table(("Command", "What it does"), rows)
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params
               if p.param_type_name == "option" and p.name not in TYPER_OWN and not p.hidden]
    if arguments:
        lines += _table(("Argument", "Type", "Required", "Description"), [
            (f"`{p.name}`", _cli_type(p, context), "yes" if p.required else "no",
             getattr(p, "help", None) or "") for p in arguments])
    if options:
        lines += _table(("Option", "Type", "Default", "Description"), [
            (_option_names(p), _cli_type(p, context), _cli_default(p), _option_help(p))
            for p in options])
    return lines


def _option_names(option: Any) -> str:
    names = [*option.opts, *option.secondary_opts]
    return " / ".join(f"`{name}`" for name in names)


def _option_help(option: Any) -> str:
    text = option.help or ""
    if option.envvar:
        envvars = [option.envvar] if isinstance(option.envvar, str) else option.envvar
        text += f" (env: {', '.join(f'`{e}`' for e in envvars)})"
    return text.strip()


def _cli_type(param: Any, context: Any) -> str:
    """The type as `--help` shows it: str, path, int range, list[str]; a flag takes none."""
    return "flag" if getattr(param, "is_flag", False) else param.display_type(context).strip("<>")


def _cli_default(param: Any) -> str:
    if param.required:
        return "required"
    default = param.default
    if default is None or default == () or default == []:
        return ""
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`" if default != "" else '`""`'


# --- the settings -------------------------------------------------------------------------------


def settings_markdown() -> str:
    """Every setting: its environment variable, type, default and what it does."""
    from proctor.settings import Settings

    lines = ["# Settings reference", "", _generated_note(), "",
             "Every setting is read once, from the process environment, when a command or a flow "
             "starts. Paths under `.proctor/` are in the project's state folder (`PROCTOR_HOME`, "
             "default `./.proctor` of the current directory); a value you set may be absolute.",
             ""]
    nested: list[tuple[str, type[BaseModel]]] = []
    rows = []
    for name, field in Settings.model_fields.items():
        model = _nested_model(field)
        if model is not None:
            nested.append((name, model))
        else:
            rows.append(_setting_row(Settings, name, field))
    lines += [f"## Root (`{_prefix(Settings)}*`)", "", _doc(Settings), ""]
    lines += _table(("Variable", "Type", "Default", "Description"), rows)
    for name, model in nested:
        lines += _model_section(name, model)
    return "\n".join(line for line in _squeeze(lines)).rstrip() + "\n"


def _model_section(path: str, model: type[BaseModel]) -> list[str]:
    """A table for `model`'s plain fields, then a section for each model nested in it."""
    lines = [f"## `{path}`: {model.__name__} (`{_prefix(model)}*`)", "", _doc(model), ""]
    rows, nested = [], []
    for name, field in model.model_fields.items():
        sub = _nested_model(field)
        if sub is not None:
            nested.append((f"{path}.{name}", sub))
        else:
            rows.append(_setting_row(model, name, field))
    lines += _table(("Variable", "Type", "Default", "Description"), rows)
    for sub_path, sub in nested:
        lines += _model_section(sub_path, sub)
    return lines


def _nested_model(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _setting_row(model: type[BaseModel], name: str, field: FieldInfo) -> tuple[str, ...]:
    names = [f"{_prefix(model)}{name}".upper()]
    alias = field.validation_alias
    if isinstance(alias, str):
        names = [alias]
    elif alias is not None and hasattr(alias, "choices"):
        names = [c for c in alias.choices if isinstance(c, str)]
    return (", ".join(f"`{n.upper()}`" for n in names), _type_name(field.annotation),
            _setting_default(field), field.description or "")


def _prefix(model: type[BaseModel]) -> str:
    return str(model.model_config.get("env_prefix", ""))


def _type_name(annotation: Any) -> str:
    """`str | None`, `Path`, `'auto' | 'nf4'`: the annotation as a reader would write it."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in get_args(annotation))
    if origin is Literal:
        return " \\| ".join(f"`{a!r}`" for a in get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _setting_default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is not None:
        factory = field.default_factory
        return f"`{factory.__module__}.{factory.__qualname__}()`"
    value = field.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        value = value.value
    text = _relative(str(value))
    return f"`{text}`" if text else '`""`'


def _relative(text: str) -> str:
    """`text` with this checkout's absolute path left out, so the file reads the same anywhere."""
    return text.replace(f"{ROOT}/", "").replace(str(ROOT), ".")


# --- Markdown -----------------------------------------------------------------------------------


def _generated_note() -> str:
    return f"<!-- Generated by `{REGENERATE}`: do not edit by hand. -->"


def _doc(model: type) -> str:
    """The class's own docstring (not one inherited from pydantic)."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else ""


def _first_line(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0].replace("\n", " ")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def cells(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(_cell(v) for v in values) + " |"
    return [cells(header), "|" + "|".join("---" for _ in header) + "|",
            *(cells(row) for row in rows), ""]


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped (those already escaped stay as they are)."""
    one_line = " ".join(text.split())
    return one_line.replace("\\|", "\0").replace("|", "\\|").replace("\0", "\\|")


def _squeeze(lines: list[str]) -> Iterator[str]:
    """`lines` without runs of blank lines (a model without a docstring leaves one)."""
    previous = None
    for line in lines:
        if not (line == "" and previous == ""):
            yield line
        previous = line


# --- writing ------------------------------------------------------------------------------------

FILES: dict[str, Callable[[], str]] = {"cli.md": cli_markdown, "settings.md": settings_markdown}


def generate() -> dict[str, str]:
    """File name -> the Markdown it should hold now."""
    return {name: render() for name, render in FILES.items()}


def write(folder: Path = REFERENCE_DIR) -> list[Path]:
    """Write every reference into `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = folder / name
        path.write_text(text, "utf-8")
        written.append(path)
    return written


def main() -> None:
    for path in write():
        print(f"wrote {_relative(str(path))}", file=sys.stderr)


if __name__ == "__main__":
    main()
