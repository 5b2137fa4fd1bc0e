"""OpenAI-shaped error responses: ``{"error": {"message", "type", "param", "code"}}``."""
from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error that reaches the client as an OpenAI-shaped JSON body."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    """HTTP 400 ``invalid_request_error``."""
    return GatewayError(400, message, "invalid_request_error", code, param)
