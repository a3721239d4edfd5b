"""What the embedded server and the app both need and neither owns: reading a text out of a file,
cutting it into passages and searching them (``retrieval``), what a reply cites (``citations``),
the Assistants API's run states (``api``), and reading a request's body whole before an ASGI app
sees it (``asgi``).

It imports nothing of :mod:`agora.server`, :mod:`agora.client` or :mod:`agora.web`, so either side
can use it without reaching into the other.
"""
