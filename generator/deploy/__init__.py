"""Deploy through CloudFormation change sets: plan, guard, apply, recover.

``pipeline`` runs a command from a typed request (bootstrap, artifact, plan, guard, execute,
reconcile) with the outside world passed in as one ``runtime.Runtime``.

Every function takes its boto3 clients (and, where it waits, a clock) as arguments, and the
clients come from the runtime's factory, which the command layer chooses: AWS itself, or the
embedded emulator for an emulated environment. Nothing in this package imports the emulator
(``tests/test_import_directions.py``), so the same code runs against a real account, the
emulator reached through an endpoint URL, moto in tests, or botocore's Stubber on recorded
responses.
"""
