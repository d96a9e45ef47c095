"""Links the pages make many of, each kind built with one url_for: url_for costs more than the row it links."""

from flask import current_app, request, url_for

from . import blp


def link_maker(endpoint, key, **query):
    """value -> url_for(endpoint, key=value, **query) for an endpoint whose path ends with `key`, with url_for
    called once: ids and slugs need no quoting in a path, so one URL built around a stand-in gives them all."""
    stand_in = "1"
    path, mark, tail = url_for(endpoint, **{key: stand_in}, **query).partition("?")
    head = path.removesuffix(stand_in)
    return lambda value: f"{head}{value}{mark}{tail}"


def fixed_url(endpoint, **values):
    """url_for(endpoint, **values) for links that are the same on every page (the navigation, static files),
    made once per worker and mount point."""
    known = current_app.extensions.setdefault("reportedly.fixed_urls", {})
    key = (endpoint, request.script_root, *sorted(values.items()))
    if key not in known:
        known[key] = url_for(endpoint, **values)
    return known[key]


blp.add_app_template_global(fixed_url)
