"""The studio's dialogs: they ask (paths, options, ranges) and hand the answer to the session or a command."""
