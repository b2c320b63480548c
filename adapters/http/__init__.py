"""HTTP: flask-smorest with a strict JSON parser and the contract's error shape."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Request
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

from adapters.http.errors import ApiError, error_response, from_http_exception


class StrictJsonParser(FlaskParser):
    """A body that is not a JSON object, or not sent as JSON, is a 400, never a 422."""

    def load_json(self, req: Request, schema: Schema) -> Any:
        req.get_data(cache=True)  # an oversized body is a 413 whatever its content type
        if not req.is_json:
            raise ApiError("malformed_request")
        try:
            data = req.get_json(silent=True)
        except RecursionError:  # nesting deeper than the parser goes is not a request either
            data = None
        if not isinstance(data, dict):
            raise ApiError("malformed_request")
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJsonParser()


class Api(flask_smorest.Api):
    def handle_http_exception(self, error: Any) -> Any:
        return error_response(from_http_exception(error))
