"""Flask's context proxies (`request`, `g`, `current_app`, ...), reaching their objects' attributes without an error.

Werkzeug's LocalProxy answers `request.method` through `__getattr__`, which Python 3.11
calls only after its ordinary lookup has failed on the proxy and built an AttributeError,
message and all (3.12 skips that). A request to this service reads such attributes about
thirty times (Flask, flask-smorest, webargs and our hooks), and each read cost 1.26 µs
where the object's own attribute costs 0.06 µs: a single claim spent 9% of its
instructions there (bench/instructions.py). QuickProxy looks public names up on the
current object first; every other name, and every operator, goes to LocalProxy as before.
"""

from flask import globals as flask_globals
from werkzeug.local import LocalProxy

_own = object.__getattribute__
_set_class = object.__dict__["__class__"].__set__  # LocalProxy forwards `__class__` itself to the object


class QuickProxy(LocalProxy):
    """A LocalProxy whose public attributes are read from the current object at once (same answers, same
    errors outside a context: _get_current_object raises them)."""

    __slots__ = ()

    def __getattribute__(self, name):
        if name[0] == "_":  # the proxy's own slots and dunders, or LocalProxy's __getattr__ after them
            return _own(self, name)
        return getattr(_own(self, "_get_current_object")(), name)


def quicken_flask_proxies():
    """Make Flask's module-level proxies QuickProxies (idempotent; every module holding them sees the change)."""
    for name in ("app_ctx", "current_app", "g", "request_ctx", "request", "session"):
        proxy = getattr(flask_globals, name)
        if type(proxy) is LocalProxy:
            _set_class(proxy, QuickProxy)
