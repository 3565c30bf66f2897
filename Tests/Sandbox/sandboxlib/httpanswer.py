"""What the sandbox's HTTP servers (API server, GCP emulator) share in answering a request."""

from http.server import BaseHTTPRequestHandler


def end_headers_with(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """end_headers() and the body in one write: one TLS record and one TCP segment for a small
    answer instead of two (headers, then body), and one system call."""
    if not hasattr(handler, "_headers_buffer"):      # HTTP/0.9: no headers at all
        handler.end_headers()
        handler.wfile.write(body)
        return
    handler._headers_buffer.append(b"\r\n")
    handler._headers_buffer.append(body)
    handler.flush_headers()
