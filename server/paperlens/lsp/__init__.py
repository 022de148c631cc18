"""The only place that knows the Language Server Protocol (pygls, lsprotocol)."""
