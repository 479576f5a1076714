"""One public function per CLI verb, taking resolved objects and returning a result.

Nothing here prints; the CLI renders the results. Area modules: ``config`` (init,
envs, config show/get, run, check); others add their own.
"""
