"""flask-smorest's `doc` without its wrapper at run time: the view function carries the added description itself."""

from copy import deepcopy

from flask_smorest.utils import deepupdate


def documented(**description):
    """Decorate a view: what flask-smorest's Blueprint.doc adds to its OpenAPI operation, on the view itself.

    flask-smorest wraps the view in a function that only calls it (through a lookup of the
    current app), to hold a copy of the description; the view here gets that copy. Every
    API view has two of these (its scope and its operationId), run at every request.
    """
    def decorator(view):
        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), description)
        view._apidoc = apidoc
        return view

    return decorator
