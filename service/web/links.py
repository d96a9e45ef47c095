"""Links the pages make many of, each kind built by url_for once per worker: url_for costs more than the row it links."""

from flask import current_app, request, url_for

from . import blp


def link_maker(endpoint, key, **query):
    """value -> url_for(endpoint, key=value, **query) for an endpoint whose path ends with `key`."""
    head, tail = link_parts(endpoint, key, **query)
    return lambda value: f"{head}{value}{tail}"


def link_parts(endpoint, key, **query):
    """(head, tail) such that url_for(endpoint, key=value, **query) is head + value + tail: ids and slugs need no
    quoting in a path, so one URL built around a stand-in gives them all. Kept per worker when the query is
    empty (the usual page); a page at a past time makes its own (the times are the client's)."""
    def make():
        path, mark, tail = url_for(endpoint, **{key: "1"}, **query).partition("?")
        return path.removesuffix("1"), mark + tail

    past = any(value is not None for value in query.values())
    return make() if past else per_worker(("link", endpoint, key), make)


def fixed_url(endpoint, **values):
    """url_for(endpoint, **values) for links that are the same on every page (the navigation, static files)."""
    return per_worker(("url", endpoint, *values.items()), lambda: url_for(endpoint, **values))


def per_worker(key, make):
    """make(), kept for the worker's life per key and mount point (the app's script root)."""
    known = current_app.extensions.setdefault("reportedly.links", {})
    key = (request.script_root, *key)
    if key not in known:
        known[key] = make()
    return known[key]


blp.add_app_template_global(fixed_url)
