"""The form parts every form repeats: a text field and the error marks of any field, made in Python.

A Jinja macro call costs more than the field it makes, and the board's filter form alone has
nine fields. The HTML is what the macros made, byte for byte.
"""

from markupsafe import Markup, escape

from . import blp

NOTHING = Markup("")


def _errors(outcome, name):
    """The messages of one field, or None: `outcome` may be None or an Outcome without errors."""
    return outcome.errors.get(name) if outcome and outcome.errors else None


def described(outcome, name):
    """The attributes that tie a refused field to its message (nothing when the field is fine)."""
    if not _errors(outcome, name):
        return NOTHING
    return Markup(f' aria-invalid="true" aria-describedby="{_error_id(name)}"')


def errors_for(outcome, name):
    """A field's messages beside it (nothing when the field is fine)."""
    messages = _errors(outcome, name)
    if not messages:
        return NOTHING
    return Markup(f'<span class="field-error" id="{_error_id(name)}">{escape(" ".join(messages))}</span>')


def _error_id(name):
    return escape("err-" + name.replace(".", "-"))


def text(name, label, outcome, form, hint=None, kind="text", value=None, id_prefix=""):
    """A labelled input with its hint and, when refused, its message; `value` wins over the form's."""
    field_id = escape(id_prefix + name)
    value = form.get(name, "") if value is None else value
    hint = f'<span class="hint">{escape(hint)}</span>' if hint else ""
    return Markup(
        f'<div class="field">\n'
        f'  <label for="{field_id}">{escape(label)}</label>\n'
        f'  <input type="{escape(kind)}" id="{field_id}" name="{escape(name)}" value="{escape(value)}"'
        f'{described(outcome, name)}>\n'
        f'  {hint}\n'
        f'  {errors_for(outcome, name)}\n'
        f'</div>'
    )


for widget in (described, errors_for, text):
    blp.add_app_template_global(widget)
