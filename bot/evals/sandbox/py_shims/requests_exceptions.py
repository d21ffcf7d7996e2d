"""The sandbox's `requests.exceptions` (see the sandbox's `requests`)."""

import json as _json


class RequestException(IOError):
    def __init__(self, *args, response=None, request=None):
        super().__init__(*args)
        self.response, self.request = response, request


class HTTPError(RequestException):
    pass


class ConnectionError(RequestException):  # noqa: A001 - requests' name
    pass


class Timeout(RequestException):
    pass


class ConnectTimeout(ConnectionError, Timeout):
    pass


class ReadTimeout(Timeout):
    pass


class URLRequired(RequestException):
    pass


class TooManyRedirects(RequestException):
    pass


class InvalidURL(RequestException, ValueError):
    pass


class InvalidHeader(RequestException, ValueError):
    pass


class InvalidJSONError(RequestException):
    pass


class JSONDecodeError(InvalidJSONError, _json.JSONDecodeError):
    def __init__(self, msg, doc="", pos=0):
        _json.JSONDecodeError.__init__(self, msg, doc, pos)
