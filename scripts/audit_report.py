#!/usr/bin/env python3
"""`make audit-parameters`: reads what scripts/lambda_local.py prints for the parameter notifier's
audit (a `--> event: outcome in N ms` line, then the decision as JSON) and prints the findings as a
person reads them: the decision, why, and the notification's text (sent or, when the findings did
not change, suppressed). Exits non-zero when the invocation failed."""
import json
import sys


def main() -> int:
    text = sys.stdin.read()
    start = text.find("{")
    if start < 0:
        print(text, end="")
        return 1
    try:
        decision, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        print(text, end="")
        return 1
    if "errorType" in decision:
        print(f"audit failed: {decision['errorType']}: {decision.get('errorMessage', '')}")
        return 1
    print(f"decision: {decision.get('decision')} ({decision.get('reason', '')})")
    notice = decision.get("notification")
    if notice:
        print(notice["subject"])
        print()
        print(notice["message"], end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
