"""This project's own cfn-lint rules (E9001..E9006).

cfn-lint loads every ``[A-Za-z1-9]*.py`` file in this folder as a standalone module
(``cfn-lint --append-rules generator/cfnlint_rules``), so each rule file imports only the
standard library and cfnlint, never a sibling module; this file is skipped by that loader.
"""
