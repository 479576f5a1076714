#!/bin/sh
# README / docs/guard.md "The stamp's tier": the one-line edit that used to be all it
# took to let dbenv empty a protected database. Run in a copy of examples/dashtam.
exec sed -i '/^\[environments.development\]/a tier = "disposable"' dbenv.toml
