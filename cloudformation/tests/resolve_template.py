#!/usr/bin/env python3
"""Writes the template as CloudFormation would deploy it with the given parameters (conditions
evaluated, each Fn::If replaced by its branch), as JSON, for scanners that cannot read a
statement list holding an Fn::If (checkov skips such a role's IAM checks).

    resolve_template.py OUT.json [Key=Value ...]
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import template_rules


def main() -> int:
    out, *pairs = sys.argv[1:]
    overrides = dict(p.split("=", 1) for p in pairs)
    resolved = template_rules.resolve(template_rules.load(), overrides)
    Path(out).write_text(json.dumps(resolved, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
