"""Flask's proxies, quickened by the app factory (service.context_proxies), answer exactly as LocalProxy did."""

import pytest
from flask import Request, current_app, g, request, session
from werkzeug.local import LocalProxy

from service.app import create_app
from service.context_proxies import QuickProxy


@pytest.fixture(scope="module")
def app():
    """An app without a database: the proxies are the same on every one."""
    return create_app(with_database=False)


def test_the_factory_quickens_flasks_proxies(app):
    assert all(type(proxy) is QuickProxy for proxy in (current_app, g, request, session))
    assert all(isinstance(proxy, LocalProxy) for proxy in (current_app, g, request, session))


def test_inside_a_request_every_kind_of_name_reaches_the_current_objects(app):
    with app.test_request_context("/v1/claims?status=reported", headers={"X-Probe": "1"}):
        assert (request.method, request.args["status"], request.headers["X-Probe"]) == ("GET", "reported", "1")
        assert isinstance(request, Request) and request.__class__ is type(request._get_current_object())
        g.note, g._private = "kept", "kept too"  # set through the proxy, read back through it
        assert (g.note, g._private, g.get("note"), "note" in g) == ("kept", "kept too", "kept", True)
        assert current_app.config is app.config and current_app.name == app.name
        with pytest.raises(AttributeError, match="no_such_attribute"):
            request.no_such_attribute  # noqa: B018
        with pytest.raises(AttributeError):
            request._no_such_attribute  # noqa: B018


def test_outside_a_request_the_proxies_fail_and_fall_back_as_before(app):
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.method  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.token  # noqa: B018
    assert not request and "unbound" in repr(request)
    assert request.__class__ is QuickProxy and not isinstance(request, Request)  # LocalProxy's fallbacks
