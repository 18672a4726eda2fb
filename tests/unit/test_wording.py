from __future__ import annotations

import pytest

from app.errors import (
    AuthError,
    BadResponse,
    BadStream,
    HttpError,
    NetworkError,
    RequestTimeout,
    ServerError,
    StreamCutOff,
    StreamFailed,
    StreamTooLarge,
)
from app.wording import describe_error


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (NetworkError("Failed to fetch"), "Network error: Unable to connect to server"),
        (AuthError(401), "Authentication error: Please refresh the page"),
        (ServerError(500), "Server error: Please try again later"),
        (ServerError(503, "upstream down"), "Server error: Please try again later"),
        (HttpError(403, "Forbidden by policy"), "Request failed (403): Forbidden by policy"),
        (HttpError(429), "Request failed (429): the server gave no reason"),
        (RequestTimeout("20 s"), "Network error: The server did not answer in time"),
        (BadResponse("the reply is not valid JSON"), "Unexpected reply from the server: the reply is not valid JSON"),
        (BadStream("a stream event is not JSON"), "Unexpected reply from the server: a stream event is not JSON"),
        (StreamTooLarge("too big"), "Unexpected reply from the server: too big"),
        (StreamCutOff("ended early"), "The reply was cut off before it finished. Please try again."),
        (StreamFailed("model overloaded"), "The server reported an error while replying: model overloaded"),
        (StreamFailed(), "The server reported an error while replying"),
    ],
)
def test_each_error_has_its_sentence(error: Exception, text: str) -> None:
    assert describe_error(error) == text
