"""The embedded AWS emulator for trying the stack without an AWS account (moto, on loopback).

- ``target``: which environments are emulated, and the endpoint and fake-credential session the
  deploy code uses for them (the deploy code itself is the same as for a real account);
- ``server``: start, find and stop the background server; ``serve`` is its process (started
  through ``generator.cli.serve``);
- ``extension`` and ``models``: what the server adds to moto; loaded only in that process;
- ``delivery`` and ``runtime``: the deployed function run in a subprocess instead of Docker;
- ``commands``: what ``up``, ``down``, ``upload`` and ``demo`` do (``generator.cli.emulator``
  parses their arguments).

Importing this package imports neither moto nor the extension.
"""
