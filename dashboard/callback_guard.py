"""Dash's callback route (POST /_dash-update-component) answers a request it cannot use with
400 JSON, never an HTML 500 or a trace.

The page sends each callback the values of its declared inputs; anyone can send anything
instead. Rather than each callback checking each value, the route's view is wrapped once:

1. the body is checked against the callback it names: a JSON object, an output that is a
   callback of this app, the outputs, inputs and state that callback declares (same ids and
   properties, in order), and each value of a type the property can hold (a date or a
   search is text, a click count a whole number, ...: PROP_TYPES);
2. what the callback then raises because a value is not what the page sends (a TypeError,
   ValueError, KeyError, ... on a forged value of the right type: a store holding a number
   where the page keeps an object) is answered 400 too, and logged;
3. anything else is a 500 with a one-line JSON message, the details in the server log.
"""
from __future__ import annotations

import functools
import json
import logging

from dash.exceptions import PreventUpdate, UnsupportedRelativePath
from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_TEXT = (str, type(None))
_WHOLE = (int, type(None))
_FLAG = (bool, type(None))
_OBJECT = (dict, type(None))
# The JSON types each property the dashboard's callbacks read can hold (a property not named
# here, as a store's data or a dropdown's value, is left to step 2).
PROP_TYPES = {
    "search": _TEXT, "pathname": _TEXT, "hash": _TEXT, "href": _TEXT,
    "start_date": _TEXT, "end_date": _TEXT, "date": _TEXT,
    "n_clicks": _WHOLE, "n_intervals": _WHOLE,
    "is_open": _FLAG, "hidden": _FLAG, "disabled": _FLAG,
    "clickData": _OBJECT, "hoverData": _OBJECT, "selectedData": _OBJECT,
    "options": (list, dict, type(None)),
}
_NAMES = {str: "text", int: "a whole number", bool: "true or false", dict: "an object",
          list: "a list", type(None): "null"}

# What a callback raises when a value of the right JSON type is not one the page sends.
INPUT_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError,
                UnsupportedRelativePath)


class Refused(ValueError):
    """The body of a callback request is not one this app's page could send."""


def _answer(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def _items(values, what: str) -> list[dict]:
    """Returns the {id, property, value} items of a body's inputs or state, flattened (a
    pattern-matching input is a list of them); raises Refused for anything else."""
    if not isinstance(values, list):
        raise Refused(f"{what} must be a list")
    flat = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if not (isinstance(item, dict) and isinstance(item.get("id"), (str, dict))
                    and isinstance(item.get("property"), str)):
                raise Refused(f"each of {what} must be an object with an id and a property")
            flat.append(item)
    return flat


def _names(declared) -> list[tuple]:
    # an output that allows duplicates is sent as "property@hash"
    return [(d["id"], d["property"].split("@", 1)[0]) for d in declared]


def _outputs(declared) -> list[tuple]:
    outputs = declared if isinstance(declared, list) else [declared]
    return [(o.component_id, o.component_property) for o in outputs]


def _is_pattern(component_id) -> bool:
    """A pattern-matching id ({"type": ..., "key": ALL}): Dash's callback map holds it as
    its JSON text, the page sends one item per matching component."""
    return not isinstance(component_id, str) or component_id.startswith("{")


def _type_name(types: tuple) -> str:
    return " or ".join(_NAMES[t] for t in types)


def check(callback_map: dict, body) -> None:
    """Raises Refused when ``body`` is not a request the page could send to a callback of
    ``callback_map`` (the output it names, that callback's inputs and state, their types)."""
    if not isinstance(body, dict):
        raise Refused("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise Refused(f"no callback has the output {str(output)[:120]!r}")
    callback = callback_map[output]
    inputs = _items(body.get("inputs"), "inputs")
    state = _items(body.get("state", []), "state")
    changed = body.get("changedPropIds", [])
    if not (isinstance(changed, list) and all(isinstance(c, str) for c in changed)):
        raise Refused("changedPropIds must be a list of text")
    declared = callback["inputs"] + callback["state"]
    if not any(_is_pattern(d["id"]) for d in declared):
        if _names(inputs + state) != _names(declared):
            raise Refused(f"the callback of {output[:120]!r} takes "
                          f"{len(callback['inputs'])} inputs and {len(callback['state'])} "
                          "states, not these")
    outputs = body.get("outputs")
    if outputs is not None and not callback.get("no_output"):
        sent = _items(outputs if isinstance(outputs, list) else [outputs], "outputs")
        named = _outputs(callback["output"])
        if not any(_is_pattern(i) for i, _p in named) and _names(sent) != named:
            raise Refused(f"the outputs do not match the callback of {output[:120]!r}")
    for item in inputs + state:
        types = PROP_TYPES.get(item["property"])
        value = item.get("value")
        if types is not None and (not isinstance(value, types) or
                                  (bool not in types and isinstance(value, bool))):
            raise Refused(f"{str(item['id'])[:80]}.{item['property']} must be "
                          f"{_type_name(types)}, not {_NAMES.get(type(value), 'that')}")


def install(dash_app) -> None:
    """Wraps the callback route of ``dash_app`` (see the module's docstring)."""
    server = dash_app.server
    endpoint = dash_app.config.routes_pathname_prefix + "_dash-update-component"
    view = server.view_functions[endpoint]

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        output = None
        try:
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            check(dash_app.callback_map, body)
            return view(*args, **kwargs)
        except PreventUpdate:                   # Dash answers it: 204, nothing to change
            raise
        except Refused as exc:
            log.info("Callback request refused. output=%.120s reason=%s", output, exc)
            return _answer(400, f"callback request refused: {exc}")
        except HTTPException as exc:            # e.g. the 413 of limits.py: its own answer
            answer = current_app.handle_http_exception(exc)
            if isinstance(answer, HTTPException):
                return _answer(exc.code or 500, exc.description or exc.name)
            return answer
        except INPUT_ERRORS as exc:
            log.warning("Callback refused its inputs. output=%.120s error=%s: %.200s",
                        output, type(exc).__name__, exc, exc_info=exc)
            return _answer(400, "callback request refused: an input is not a value this "
                                "page sends")
        except Exception as exc:
            log.error("Callback failed. output=%.120s", output, exc_info=exc)
            return _answer(500, "internal error (details are in the server log)")

    server.view_functions[endpoint] = guarded
