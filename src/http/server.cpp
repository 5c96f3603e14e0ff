// The HTTP server's one translation unit with Beast and Asio; the code moves to headers of its
// parts in the next step (listener, HTTP session, SSE session).
#include "http/http_session.hpp"
