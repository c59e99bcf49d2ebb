"""The least-privilege and wiring rules of cloudformation/template.yaml, as checks over the parsed
template: each check takes the template (a dict, intrinsic functions in their long form, as
cfn-lint's loader returns them) and returns the problems it found, an empty list when none.

moto deploys the template but skips AWS::SecretsManager::*, AWS::SNS::Subscription,
AWS::CloudWatch::Alarm and AWS::SQS::QueuePolicy, drops Lambda's Architectures, LoggingConfig,
DeadLetterConfig and TracingConfig, and enforces neither IAM resources nor key policies: these
checks cover them.
"""
from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

# Function (crate, binary, target/lambda/<name>/) -> its logical id, role, and sizing from the
# benchmarks (peak memory 9.6 MiB reader, 13.3 MiB rotation): (memory MB, timeout s).
FUNCTIONS = {
    "config-reader": ("ConfigReader", "ConfigReaderRole", 128, 10),
    "secret-rotation": ("SecretRotation", "SecretRotationRole", 256, 30),
    "parameter-notifier": ("ParameterNotifier", "ParameterNotifierRole", 128, 10),
    "certificate-notifier": ("CertificateNotifier", "CertificateNotifierRole", 128, 10),
    # the sweep asks the doctor one secret at a time, each bounded by the rotation function's 30 s
    "rotation-health": ("RotationHealth", "RotationHealthRole", 128, 300),
}

# Every action each role may have (beyond these is a finding), and those it must have (without
# them the function fails at run time).
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# With Tracing=Active, what Lambda needs from the role to send a function's trace segments: the two
# write actions of the managed policy AWSXRayDaemonWriteAccess (not its sampling-rule reads), in
# this one statement, on "*" (neither action has resource-level permissions).
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
XRAY_STATEMENT = {"Sid": "WriteTracesHasNoResource", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"}
ACTIVE_TRACING = {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}
ROLE_ACTIONS = {
    "ConfigReaderRole": LOG_ACTIONS | {"ssm:GetParameters", "ssm:GetParametersByPath", "secretsmanager:GetSecretValue"},
    "SecretRotationRole": LOG_ACTIONS | {
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage", "rds:DescribeDBInstances", "rds:DescribeDBClusters",
        "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "kms:Decrypt", "kms:GenerateDataKey"},
    "ParameterNotifierRole": LOG_ACTIONS | {"ssm:DescribeParameters", "ssm:GetParametersByPath", "ssm:GetParameter",
                                            "ssm:PutParameter", "sns:Publish", "sqs:SendMessage"},
    "CertificateNotifierRole": LOG_ACTIONS | {"acm:DescribeCertificate", "acm:GetAccountConfiguration", "sns:Publish",
                                              "sqs:SendMessage"},
    "RotationHealthRole": LOG_ACTIONS | {"lambda:InvokeFunction", "ssm:GetParameter", "ssm:PutParameter", "sns:Publish",
                                         "sqs:SendMessage"},
}
ROLE_ACTIONS = {role: allowed | set(XRAY_ACTIONS) for role, allowed in ROLE_ACTIONS.items()}
ROLE_REQUIRED = {
    "ConfigReaderRole": {"ssm:GetParameters", "ssm:GetParametersByPath"},
    "SecretRotationRole": {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                           "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
    "ParameterNotifierRole": {"ssm:DescribeParameters", "sns:Publish"},
    "CertificateNotifierRole": {"acm:DescribeCertificate", "sns:Publish"},
    "RotationHealthRole": {"lambda:InvokeFunction", "ssm:GetParameter", "ssm:PutParameter", "sns:Publish"},
}
# Actions with no resource-level permissions: the only ones allowed on Resource "*".
NO_RESOURCE_ACTIONS = {"ssm:DescribeParameters", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                       "acm:GetAccountConfiguration"} | set(XRAY_ACTIONS)
# The EC2 actions of the managed policy AWSLambdaVPCAccessExecutionRole (v3, January 2024): what
# Lambda needs from the role of a function in a VPC.
LAMBDA_VPC_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}

ARN = "arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}:%s"
READER_PARAMETERS = ARN % ("ssm", "parameter/${AppPrefix}/${Environment}/*")
READER_REFERENCE = ARN % ("ssm", "parameter/aws/reference/secretsmanager/${ReaderSecretName}")
READER_SECRET = ARN % ("secretsmanager", "secret:${ReaderSecretName}-??????")
CRYPTO_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:*", "*")
# The Config rule's name is a parameter (Security Hub and conformance packs prefix it) whose
# default is the managed rule's own name.
CONFIG_RULE_NAME = {"Ref": "CertificateConfigRuleName"}
CONFIG_RULE_DEFAULT = "acm-certificate-expiration-check"
# AWS's public parameters the reader may read: exact ARNs (AWS owns them: no account), one per
# configured name, each the i-th of ReaderPublicParameters.
PUBLIC_PARAMETER = "arn:${AWS::Partition}:ssm:${AWS::Region}::parameter${Name}"
PUBLIC_NAMES = {"Fn::Split": [",", {"Fn::Join": ["", [{"Ref": "ReaderPublicParameters"}, ",,"]]}]}
# The parameter audit: its environment's path (listed without decryption), its one state
# parameter (the stack's, outside /<prefix>/), its schedule's constant input.
AUDIT_PATH_ARNS = [ARN % ("ssm", "parameter/${AppPrefix}/${Environment}"), ARN % ("ssm", "parameter/${AppPrefix}/${Environment}/*")]
AUDIT_STATE = "/config-keeper/${AppPrefix}-${Environment}/parameter-audit"
AUDIT_STATE_ARN = ARN % ("ssm", "parameter" + AUDIT_STATE)
AUDIT_INPUT = {"id": "parameter-hygiene-audit", "source": "aws-config-keeper", "detail-type": "Parameter Hygiene Audit", "detail": {}}
REQUIRED_OUTPUTS = {"ConfigReaderArn", "SecretRotationArn", "ParameterNotifierArn", "CertificateNotifierArn",
                    "RotationHealthArn", "TopicArn", "KeyArn", "SecretArn"}
# Rotation health: the one function it may invoke, the path of its states (outside /<prefix>/, and
# not /aws or /ssm, which Parameter Store reserves), the rotation events it handles.
ROTATION_FUNCTION = ARN % ("lambda", "function:${AppPrefix}-${Environment}-secret-rotation")
HEALTH_STATE_PATH = "/config-keeper/${AppPrefix}-${Environment}/rotation-health"
HEALTH_STATES = ARN % ("ssm", "parameter" + HEALTH_STATE_PATH + "/*")
HEALTH_LIST = ARN % ("ssm", "parameter${RotationHealthSecretsParameter}")
ROTATION_EVENTS_PATTERN = {
    "source": ["aws.secretsmanager"], "detail-type": ["AWS Service Event via CloudTrail"],
    "detail": {"eventSource": ["secretsmanager.amazonaws.com"],
               "eventName": ["RotationFailed", "RotationAbandoned", "RotationSucceeded", "TestRotationFailed", "TestRotationSucceeded"]}}
NO_VALUE = {"Ref": "AWS::NoValue"}
# The secret the stack rotates: the one it creates, or the one it is given.
ROTATED_SECRET = {"Fn::If": ["CreateSecret", {"Ref": "DatabaseSecret"}, {"Ref": "DatabaseSecretArn"}]}
# The one KMS right a role holds itself: the rotation role, on the customer-managed key of a secret
# the stack did not create (whose key policy is not the stack's), through Secrets Manager and for
# that secret only (Secrets Manager's encryption context names the secret).
SECRET_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
SECRET_KEY_CONDITION = {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
                                         "kms:EncryptionContext:SecretARN": {"Ref": "DatabaseSecretArn"}}}
SECRET_KEY_WHEN = {"Fn::And": [{"Fn::Not": [{"Condition": "CreateSecret"}]},
                               {"Fn::Not": [{"Fn::Equals": [{"Ref": "DatabaseSecretKmsKeyArn"}, ""]}]}]}
ENDPOINT_SERVICES = {"SecretsManagerEndpoint": ("MakeSecretsManagerEndpoint", "secretsmanager"),
                     "RdsEndpoint": ("MakeRdsEndpoint", "rds")}


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain JSON data (short-form tags such as !Sub become {"Fn::Sub": ...})."""
    template, problems = decode_str(path.read_text())
    if problems or template is None:
        raise ValueError(f"{path}: {problems}")
    return json.loads(json.dumps(template))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def branches(value: Any) -> Iterator[Any]:
    """The values a property may take: both sides of Fn::If, without AWS::NoValue."""
    if isinstance(value, dict) and "Fn::If" in value:
        for side in value["Fn::If"][1:]:
            yield from branches(side)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def texts(value: Any) -> list[str]:
    """A resource or principal as strings: a Sub's template, "${X}" for Ref X, "${X.Arn}" for GetAtt."""
    out: list[str] = []
    for v in branches(value):
        if v is None:
            continue
        if isinstance(v, list):
            for item in v:
                out += texts(item)
        elif isinstance(v, str):
            out.append(v)
        elif "Fn::Sub" in v:
            sub = v["Fn::Sub"]
            out.append(sub if isinstance(sub, str) else sub[0])
        elif "Ref" in v:
            out.append("${%s}" % v["Ref"])
        elif "Fn::GetAtt" in v:
            att = v["Fn::GetAtt"]
            out.append("${%s}" % (att if isinstance(att, str) else ".".join(att)))
        else:
            out.append(json.dumps(v))
    return out


def resources(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in t["Resources"].items() if r["Type"] == kind}


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for s in as_list(document.get("Statement", [])):
        for branch in branches(s):
            if isinstance(branch, list):
                yield from branch
            else:
                yield branch


def role_statements(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, statement) for every identity policy: inline in roles, and AWS::IAM::Policy/ManagedPolicy."""
    for name, role in resources(t, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for s in statements(policy["PolicyDocument"]):
                yield name, s
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
        for name, policy in resources(t, kind).items():
            props = policy["Properties"]
            roles = [props["RoleName"]] if "RoleName" in props else props.get("Roles", [name])
            for role in roles:
                for s in statements(props["PolicyDocument"]):
                    yield "".join(texts(role)).strip("${}"), s


def walk_values(value: Any) -> Iterator[Any]:
    """Every dict and scalar inside `value`, depth first."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_values(v)


def arn_parts(arn: str) -> list[str]:
    """An ARN's fields, with the pseudo parameters (which hold "::") kept whole."""
    pseudo = ("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")
    for i, p in enumerate(pseudo):
        arn = arn.replace(p, f"\0{i}")
    fields = arn.split(":")
    for i, p in enumerate(pseudo):
        fields = [f.replace(f"\0{i}", p) for f in fields]
    return fields


def actions(statement: dict[str, Any]) -> list[str]:
    return as_list(statement.get("Action", []))


def function_of_role(t: dict[str, Any], role: str) -> str | None:
    for name, f in resources(t, "AWS::Lambda::Function").items():
        if f["Properties"].get("Role") == {"Fn::GetAtt": [role, "Arn"]}:
            return name
    return None


# ------------------------------------------------------------------ IAM roles


def check_role_statements(t: dict[str, Any]) -> list[str]:
    """Allow only, named actions without wildcards, only the actions the role's function calls,
    Resource "*" only for actions that have no resource, every ARN in this account and region."""
    problems = []
    seen: dict[str, set[str]] = {}
    for role, s in role_statements(t):
        where = f"{role} {s.get('Sid', '(no Sid)')}"
        if s.get("Effect") != "Allow":
            problems.append(f"{where}: Effect must be Allow")
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in s:
                problems.append(f"{where}: {key} is not allowed")
        acts = actions(s)
        seen.setdefault(role, set()).update(acts)
        for a in acts:
            if "*" in a:
                problems.append(f"{where}: wildcard action {a}")
            elif a not in ROLE_ACTIONS.get(role, set()):
                problems.append(f"{where}: {a} is not an action of {role}'s function")
        for r in texts(s.get("Resource", [])):
            if r == "*":
                extra = sorted(set(acts) - NO_RESOURCE_ACTIONS)
                if extra:
                    problems.append(f"{where}: Resource \"*\" for {extra}, which have resource-level permissions")
            elif r == PUBLIC_PARAMETER and role == "ConfigReaderRole":
                pass  # AWS's own parameters, by exact name: check_reader_scope
            elif r.startswith("arn:"):
                parts = arn_parts(r)
                if len(parts) < 6 or parts[3] != "${AWS::Region}" or parts[4] != "${AWS::AccountId}":
                    problems.append(f"{where}: {r} is not scoped to this account and region")
            elif not r.startswith("${"):
                problems.append(f"{where}: unexpected resource {r}")
    for role in resources(t, "AWS::IAM::Role"):
        missing = ROLE_REQUIRED.get(role, set()) - seen.get(role, set())
        if missing:
            problems.append(f"{role}: missing {sorted(missing)}")
        if role not in ROLE_ACTIONS:
            problems.append(f"{role}: an unknown role (add its actions to ROLE_ACTIONS)")
    return problems


def check_wildcard_comments(t: dict[str, Any], text: str | None = None) -> list[str]:
    """Each Resource "*" statement says why in a comment just above it (its Sid ends HasNoResource)."""
    lines = (TEMPLATE.read_text() if text is None else text).splitlines()
    problems = []
    for role, s in role_statements(t):
        if "*" not in texts(s.get("Resource", [])):
            continue
        sid = s.get("Sid", "")
        if not sid.endswith("HasNoResource"):
            problems.append(f"{role} {sid}: a Resource \"*\" statement whose Sid does not end in HasNoResource")
        at = [i for i, line in enumerate(lines) if line.strip() in (f"- Sid: {sid}", f"Sid: {sid}")]
        if not at or not all(any(lines[j].strip().startswith("#") for j in range(max(0, i - 3), i)) for i in at):
            problems.append(f"{role} {sid}: no comment above the Resource \"*\" statement saying why")
    return problems


def check_roles_trust(t: dict[str, Any]) -> list[str]:
    """One role per function, assumable by Lambda only, in this account, and used by one function."""
    problems = []
    users: dict[str, list[str]] = {}
    for name, f in resources(t, "AWS::Lambda::Function").items():
        users.setdefault("".join(texts(f["Properties"]["Role"])), []).append(name)
    for role, fns in users.items():
        if len(fns) != 1:
            problems.append(f"role {role} is shared by {fns}: one role per function")
    for name, role in resources(t, "AWS::IAM::Role").items():
        for s in statements(role["Properties"]["AssumeRolePolicyDocument"]):
            if s.get("Principal") != {"Service": "lambda.amazonaws.com"}:
                problems.append(f"{name}: trusts {s.get('Principal')}, not Lambda")
            if "aws:SourceAccount" not in json.dumps(s.get("Condition", {})):
                problems.append(f"{name}: trust without aws:SourceAccount")
        if role["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{name}: managed policies are not reviewed here; write the statements inline")
    return problems


def check_reader_scope(t: dict[str, Any]) -> list[str]:
    """The config reader reads its environment's parameters only, plus its one configured secret."""
    problems = []
    for role, s in role_statements(t):
        if role != "ConfigReaderRole":
            continue
        for r in texts(s.get("Resource", [])):
            if r == PUBLIC_PARAMETER:
                subs = [v["Fn::Sub"] for v in walk_values(s["Resource"])
                        if isinstance(v, dict) and isinstance(v.get("Fn::Sub"), list) and v["Fn::Sub"][0] == PUBLIC_PARAMETER]
                named = [sub[1].get("Name") == {"Fn::Select": [i, PUBLIC_NAMES]} for i, sub in enumerate(subs)]
                if actions(s) != ["ssm:GetParameters"] or s.get("Sid") != "ReadItsPublicParameters" or not named or not all(named):
                    problems.append(f"config reader's public parameters: {s.get('Sid')} is not GetParameters on the configured names")
                continue
            if (any(a.startswith("ssm:") for a in actions(s)) and r.startswith("arn:") and ":ssm:" in r
                    and r not in (READER_PARAMETERS, READER_REFERENCE)):
                problems.append(f"config reader may read {r}, outside {READER_PARAMETERS}")
            if ":secretsmanager:" in r and r != READER_SECRET:
                problems.append(f"config reader may read the secret {r}, not only {READER_SECRET}")
        if "secretsmanager:GetSecretValue" in actions(s) and READER_SECRET not in texts(s.get("Resource", [])):
            problems.append("config reader's GetSecretValue is not on its configured secret")
    items = [item for policy in t["Resources"]["ConfigReaderRole"]["Properties"]["Policies"]
             for item in as_list(policy["PolicyDocument"].get("Statement", []))]
    public = [i for i in items if any(isinstance(b, dict) and PUBLIC_PARAMETER in texts(b.get("Resource", []))
                                      for b in branches(i))]
    if len(public) != 1 or not (isinstance(public[0], dict) and "Fn::If" in public[0]
                                and public[0]["Fn::If"][0] == "HasPublicParameter1" and public[0]["Fn::If"][2] == NO_VALUE):
        problems.append("config reader's public parameters: not one statement conditional on HasPublicParameter1")
    env = t["Resources"]["ConfigReader"]["Properties"]["Environment"]["Variables"]
    for key, want in (("PUBLIC_PARAMETERS", {"Ref": "ReaderPublicParameters"}), ("ALLOW_PATH_REQUESTS", "false")):
        if env.get(key) != want:
            problems.append(f"config reader's {key} is {env.get(key)!r}, want {want!r}")
    if env.get("DEV_OR_PROD") != {"Ref": "Environment"}:
        problems.append("config reader's DEV_OR_PROD is not the stack's Environment")
    if env.get("PARAMETER_PREFIX") != {"Fn::Sub": "/${AppPrefix}"}:
        problems.append("config reader's PARAMETER_PREFIX is not /${AppPrefix}")
    return problems


# ------------------------------------------------------------------ KMS


def grants_crypto(statement: dict[str, Any]) -> bool:
    return any(a.startswith(CRYPTO_ACTIONS) for a in actions(statement))


def check_key_policy(t: dict[str, Any]) -> list[str]:
    """Key rotation on; no wildcard principal; every use of the key (decrypt, encrypt, data keys)
    by a role or the account goes through a service (kms:ViaService); services are conditioned; the
    reader decrypts only parameters of its environment; roles get no KMS rights of their own, but
    for the rotation role on the key of a given secret (SECRET_KEY_*), through Secrets Manager and
    for that secret only."""
    problems = []
    keys = resources(t, "AWS::KMS::Key")
    if not keys:
        return ["no AWS::KMS::Key"]
    for name, key in keys.items():
        props = key["Properties"]
        if props.get("EnableKeyRotation") is not True:
            problems.append(f"{name}: EnableKeyRotation is not true")
        reader_decrypt = False
        for s in statements(props["KeyPolicy"]):
            where = f"{name} {s.get('Sid', '(no Sid)')}"
            principal = s.get("Principal")
            if principal == "*" or (isinstance(principal, dict) and "*" in texts(principal.get("AWS", []))):
                problems.append(f"{where}: wildcard principal")
            if s.get("Effect") != "Allow" or not grants_crypto(s):
                continue
            condition = s.get("Condition", {})
            flat = json.dumps(condition)
            if isinstance(principal, dict) and "AWS" in principal:
                if "kms:ViaService" not in flat:
                    problems.append(f"{where}: {actions(s)} for {texts(principal['AWS'])} without kms:ViaService")
                if "${ConfigReaderRole.Arn}" in texts(principal["AWS"]) and "kms:Decrypt" in actions(s):
                    context = condition.get("StringLike", {}).get("kms:EncryptionContext:PARAMETER_ARN")
                    if "ssm." in flat:
                        reader_decrypt = True
                        if texts(context) != [READER_PARAMETERS]:
                            problems.append(f"{where}: the reader's decrypt is not limited to {READER_PARAMETERS} (got {texts(context)})")
            elif not condition:
                problems.append(f"{where}: {actions(s)} for a service without a condition")
        if not reader_decrypt:
            problems.append(f"{name}: no statement lets the config reader decrypt through SSM")
    for role, s in role_statements(t):
        if not any(a.startswith("kms:") for a in actions(s)):
            continue
        where = f"{role} {s.get('Sid', '(no Sid)')}"
        if role != "SecretRotationRole" or s.get("Resource") != {"Ref": "DatabaseSecretKmsKeyArn"}:
            problems.append(f"{where}: KMS rights belong in the key policy, with kms:ViaService")
            continue
        if actions(s) != SECRET_KEY_ACTIONS:
            problems.append(f"{where}: {actions(s)} on the secret's key, want {SECRET_KEY_ACTIONS}")
        condition = s.get("Condition", {})
        if set(condition) != {"StringEquals"}:
            problems.append(f"{where}: conditions {sorted(condition)} on the secret's key, want StringEquals only")
        equals = condition.get("StringEquals", {})
        if equals.get("kms:ViaService") != SECRET_KEY_CONDITION["StringEquals"]["kms:ViaService"]:
            problems.append(f"{where}: the secret's key is not limited to Secrets Manager (kms:ViaService)")
        if equals.get("kms:EncryptionContext:SecretARN") != {"Ref": "DatabaseSecretArn"}:
            problems.append(f"{where}: the secret's key is not limited to the rotated secret (kms:EncryptionContext:SecretARN)")
    return problems


# ------------------------------------------------------------------ functions


def check_functions(t: dict[str, Any]) -> list[str]:
    """provided.al2023 on arm64 with handler bootstrap, code from the packaged location, JSON logs
    into their own log group with retention (the one the role may write to), sized from the benchmarks."""
    problems = []
    groups = resources(t, "AWS::Logs::LogGroup")
    functions = resources(t, "AWS::Lambda::Function")
    if set(functions) != {v[0] for v in FUNCTIONS.values()}:
        problems.append(f"functions {sorted(functions)} are not {sorted(v[0] for v in FUNCTIONS.values())}")
    for crate, (logical, role, memory, timeout) in FUNCTIONS.items():
        if logical not in functions:
            continue
        p = functions[logical]["Properties"]
        where = f"{logical} ({crate})"
        expected = {"Runtime": "provided.al2023", "Architectures": ["arm64"], "Handler": "bootstrap",
                    "MemorySize": memory, "Timeout": timeout, "Role": {"Fn::GetAtt": [role, "Arn"]},
                    "FunctionName": {"Fn::Sub": "${AppPrefix}-${Environment}-" + crate}}
        for key, want in expected.items():
            if p.get(key) != want:
                problems.append(f"{where}: {key} is {p.get(key)!r}, want {want!r}")
        code = p.get("Code", {})
        if code.get("S3Bucket") != {"Ref": "CodeBucket"} or code.get("S3Key") != {"Fn::Sub": "${CodeKeyPrefix}/" + crate + "/bootstrap.zip"}:
            problems.append(f"{where}: Code is not the packaged {crate}/bootstrap.zip")
        logging = p.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON":
            problems.append(f"{where}: LoggingConfig.LogFormat is not JSON")
        group = logging.get("LogGroup", {}).get("Ref") if isinstance(logging.get("LogGroup"), dict) else None
        if group not in groups:
            problems.append(f"{where}: LoggingConfig.LogGroup is not a log group of the template")
            continue
        g = groups[group]["Properties"]
        if "RetentionInDays" not in g:
            problems.append(f"{group}: no RetentionInDays")
        if "KmsKeyId" not in g:
            problems.append(f"{group}: not encrypted with the stack's key")
        name = "/aws/lambda/${AppPrefix}-${Environment}-" + crate
        if texts(g.get("LogGroupName")) != [name]:
            problems.append(f"{group}: LogGroupName is {texts(g.get('LogGroupName'))}, want {name}")
        log_arn = ARN % ("logs", "log-group:" + name + ":*")
        writes = [s for r, s in role_statements(t) if r == role and "logs:PutLogEvents" in actions(s)]
        if not writes or any(texts(s["Resource"]) != [log_arn] for s in writes):
            problems.append(f"{role}: may not write exactly to its log group {log_arn}")
    rotation = functions.get("SecretRotation", {}).get("Properties", {})
    reserved = rotation.get("ReservedConcurrentExecutions")
    if not isinstance(reserved, int) or not 1 <= reserved <= 5:
        problems.append(f"SecretRotation: ReservedConcurrentExecutions is {reserved!r}, want 1 to 5")
    return problems


def rule_targets(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(rule, target, the template function it invokes or None)."""
    for name, rule in resources(t, "AWS::Events::Rule").items():
        for target in rule["Properties"].get("Targets", []):
            arn = target.get("Arn")
            fn = arn["Fn::GetAtt"][0] if isinstance(arn, dict) and "Fn::GetAtt" in arn else None
            yield name, target, fn


def check_async_failures(t: dict[str, Any]) -> list[str]:
    """Functions invoked asynchronously (EventBridge targets) keep what they fail on: a dead-letter
    queue or an on-failure destination, which their role may send to."""
    problems = []
    destinations = {}
    for _, cfg in resources(t, "AWS::Lambda::EventInvokeConfig").items():
        p = cfg["Properties"]
        if p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"):
            destinations["".join(texts(p["FunctionName"])).strip("${}").split(".")[0]] = True
    for _, _, fn in rule_targets(t):
        if fn is None:
            continue
        p = t["Resources"][fn]["Properties"]
        dlq = p.get("DeadLetterConfig", {}).get("TargetArn")
        if not dlq and fn not in destinations:
            problems.append(f"{fn}: invoked asynchronously without a dead-letter queue or on-failure destination")
            continue
        if dlq:
            queue = dlq["Fn::GetAtt"][0] if isinstance(dlq, dict) and "Fn::GetAtt" in dlq else None
            queue_name = texts(t["Resources"].get(queue, {}).get("Properties", {}).get("QueueName"))
            role = p["Role"]["Fn::GetAtt"][0]
            allowed = [r for rr, s in role_statements(t) if rr == role and "sqs:SendMessage" in actions(s) for r in texts(s["Resource"])]
            if not queue_name or ARN % ("sqs", queue_name[0]) not in allowed:
                problems.append(f"{role}: may not send to its dead-letter queue {queue}")
    return problems


def check_rules(t: dict[str, Any]) -> list[str]:
    """Every rule's function target has a retry policy, a dead-letter queue that accepts the rule,
    and a Lambda permission for events.amazonaws.com scoped to that rule's ARN."""
    problems = []
    permissions = resources(t, "AWS::Lambda::Permission")
    policies = resources(t, "AWS::SQS::QueuePolicy")
    targets = list(rule_targets(t))
    if not targets:
        problems.append("no event rules")
    for rule, target, fn in targets:
        where = f"{rule} -> {target.get('Id')}"
        if fn is None or t["Resources"].get(fn, {}).get("Type") != "AWS::Lambda::Function":
            problems.append(f"{where}: the target is not a function of the template")
            continue
        retry = target.get("RetryPolicy", {})
        if not retry.get("MaximumRetryAttempts") or not retry.get("MaximumEventAgeInSeconds"):
            problems.append(f"{where}: no RetryPolicy")
        dlq = target.get("DeadLetterConfig", {}).get("Arn")
        if not dlq:
            problems.append(f"{where}: no DeadLetterConfig")
        else:
            queue = dlq["Fn::GetAtt"][0]
            accepted = [
                s for p in policies.values() if {"Ref": queue} in p["Properties"]["Queues"]
                for s in statements(p["Properties"]["PolicyDocument"])
                if s.get("Effect") == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}
                and "${%s.Arn}" % rule in texts(s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn", []))
            ]
            if not accepted:
                problems.append(f"{where}: the dead-letter queue {queue} does not accept this rule (aws:SourceArn)")
        matching = [
            name for name, perm in permissions.items()
            if texts(perm["Properties"].get("FunctionName")) in (["${%s}" % fn], ["${%s.Arn}" % fn])
            and perm["Properties"].get("Principal") == "events.amazonaws.com"
            and perm["Properties"].get("SourceArn") == {"Fn::GetAtt": [rule, "Arn"]}
        ]
        if not matching:
            problems.append(f"{where}: no lambda:InvokeFunction permission for events.amazonaws.com with SourceArn of {rule}")
    for name, perm in permissions.items():
        p = perm["Properties"]
        if p.get("Principal") == "events.amazonaws.com" and "SourceArn" not in p:
            problems.append(f"{name}: an EventBridge permission without SourceArn")
        if p.get("Principal", "").endswith(".amazonaws.com") and "SourceArn" not in p and "SourceAccount" not in p:
            problems.append(f"{name}: a service permission without SourceArn or SourceAccount")
    return problems


# ------------------------------------------------------------------ secret and rotation


def check_rotation(t: dict[str, Any]) -> list[str]:
    problems = []
    r = t["Resources"]
    rotation_arn = {"Fn::GetAtt": ["SecretRotation", "Arn"]}
    perms = [p["Properties"] for p in resources(t, "AWS::Lambda::Permission").values()
             if p["Properties"].get("Principal") == "secretsmanager.amazonaws.com"]
    if not any(p.get("FunctionName") == rotation_arn and p.get("SourceAccount") == {"Ref": "AWS::AccountId"} for p in perms):
        problems.append("no permission for secretsmanager.amazonaws.com on the rotation function with SourceAccount")
    # aws:SourceArn: Secrets Manager may invoke the function for the rotated secret only.
    if len(perms) != 1 or any(p.get("SourceArn") != ROTATED_SECRET for p in perms):
        problems.append(f"secretsmanager.amazonaws.com may invoke the rotation function for {[p.get('SourceArn') for p in perms]}, not the rotated secret only (SourceArn)")
    schedules = resources(t, "AWS::SecretsManager::RotationSchedule")
    if not schedules:
        problems.append("no RotationSchedule")
    for name, s in schedules.items():
        p = s["Properties"]
        if p.get("RotationLambdaARN") != rotation_arn:
            problems.append(f"{name}: RotationLambdaARN is not the rotation function")
        rules = p.get("RotationRules", {})
        if rules != {"ScheduleExpression": {"Ref": "RotationScheduleExpression"},
                     "Duration": {"Fn::If": ["HasRotationWindow", {"Ref": "RotationWindow"}, NO_VALUE]}}:
            problems.append(f"{name}: RotationRules {rules} are not RotationScheduleExpression and the optional RotationWindow")
        if p.get("RotateImmediatelyOnUpdate") is not False:
            problems.append(f"{name}: RotateImmediatelyOnUpdate is not false (the first rotation must wait for the database)")
        depends = as_list(s.get("DependsOn", []))
        if not any(d in resources(t, "AWS::Lambda::Permission") for d in depends):
            problems.append(f"{name}: does not wait for the rotation function's permission (DependsOn)")
        if texts(p.get("SecretId")) != ["${DatabaseSecret}", "${DatabaseSecretArn}"]:
            problems.append(f"{name}: SecretId is not the created or the given secret")
    secret = r.get("DatabaseSecret", {}).get("Properties", {})
    if secret.get("KmsKeyId") != {"Fn::GetAtt": ["Key", "Arn"]}:
        problems.append("DatabaseSecret: not encrypted with the stack's key")
    replicas = [x for v in branches(secret.get("ReplicaRegions", {"Ref": "AWS::NoValue"})) for x in as_list(v) for x in branches(x)]
    if len(replicas) < 1 or any("Region" not in x or "KmsKeyId" not in x for x in replicas):
        problems.append("DatabaseSecret: no replica regions with a KMS key each")
    # Secrets Manager's own rotation guard: the function acts on the secret only while it is its
    # rotation function.
    function_arn = ARN % ("lambda", "function:${AppPrefix}-${Environment}-secret-rotation")
    for role, s in role_statements(t):
        if role == "SecretRotationRole" and "secretsmanager:PutSecretValue" in actions(s):
            cond = s.get("Condition", {}).get("StringEquals", {}).get("secretsmanager:resource/AllowRotationLambdaArn")
            if texts(cond) != [function_arn]:
                problems.append(f"SecretRotationRole {s.get('Sid')}: no secretsmanager:resource/AllowRotationLambdaArn = {function_arn}")
            if texts(s.get("Resource")) != [ARN % ("secretsmanager", "secret:${AppPrefix}/${Environment}/db-credentials-??????"), "${DatabaseSecretArn}"]:
                problems.append(f"SecretRotationRole {s.get('Sid')}: not limited to its secret ({texts(s.get('Resource'))})")
    if texts(secret.get("Name")) != ["${AppPrefix}/${Environment}/db-credentials"]:
        problems.append("DatabaseSecret: the name is not <prefix>/<env>/db-credentials (the role and key policy assume it)")
    # The function's own allow-lists: the rotated secret, and the master secret or "none" (the
    # function reads an empty value as unset, not as "no master secret").
    env = r.get("SecretRotation", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    if env.get("ALLOWED_SECRETS") != ROTATED_SECRET:
        problems.append(f"SecretRotation: ALLOWED_SECRETS is {env.get('ALLOWED_SECRETS')}, not the rotated secret")
    if env.get("ALLOWED_MASTER_SECRETS") != {"Fn::If": ["HasMasterSecret", {"Ref": "MasterSecretArn"}, "none"]}:
        problems.append(f"SecretRotation: ALLOWED_MASTER_SECRETS is {env.get('ALLOWED_MASTER_SECRETS')}, not MasterSecretArn or none")
    # The secret's own key: a statement only when a key is given for a given secret.
    keyed = [item for policy in r.get("SecretRotationRole", {}).get("Properties", {}).get("Policies", [])
             for item in as_list(policy["PolicyDocument"].get("Statement", []))
             if any(a.startswith("kms:") for b in branches(item) for a in actions(b))]
    if any(not (isinstance(i, dict) and "Fn::If" in i and i["Fn::If"][0] == "HasSecretKmsKey" and i["Fn::If"][2] == NO_VALUE) for i in keyed):
        problems.append("SecretRotationRole: a KMS statement that is not conditional on HasSecretKmsKey")
    if t.get("Conditions", {}).get("HasSecretKmsKey") != SECRET_KEY_WHEN:
        problems.append("HasSecretKmsKey is not: a given secret (not CreateSecret) and a DatabaseSecretKmsKeyArn")
    return problems


# ------------------------------------------------------------------ rotation network


def check_rotation_network(t: dict[str, Any]) -> list[str]:
    """In a VPC the role has what Lambda needs (the EC2 actions of AWSLambdaVPCAccessExecutionRole),
    and nothing EC2 without one. The optional endpoints are interface endpoints with private DNS in
    the rotation subnets, limited to this account, behind a group that admits HTTPS from the stack's
    rotation group only; that group reaches the endpoints only and is added to the function."""
    problems = []
    r = t["Resources"]
    in_vpc = {a for role, s in role_statements(resolve(t, {"RotationSubnetIds": "subnet-1"}))
              if role == "SecretRotationRole" for a in actions(s) if a.startswith("ec2:")}
    if in_vpc != LAMBDA_VPC_ACTIONS:
        problems.append(f"SecretRotationRole in a VPC: EC2 actions {sorted(in_vpc)}, want {sorted(LAMBDA_VPC_ACTIONS)}")
    outside = {a for role, s in role_statements(resolve(t)) if role == "SecretRotationRole" for a in actions(s) if a.startswith("ec2:")}
    if outside:
        problems.append(f"SecretRotationRole without a VPC: EC2 actions {sorted(outside)}")
    endpoint_group = {"Fn::GetAtt": ["RotationEndpointSecurityGroup", "GroupId"]}
    rotation_group = {"Fn::GetAtt": ["RotationSecurityGroup", "GroupId"]}
    endpoints = resources(t, "AWS::EC2::VPCEndpoint")
    if set(endpoints) != set(ENDPOINT_SERVICES):
        problems.append(f"endpoints {sorted(endpoints)}, want {sorted(ENDPOINT_SERVICES)}")
    for name, (condition, service) in ENDPOINT_SERVICES.items():
        e = endpoints.get(name, {})
        p = e.get("Properties", {})
        if e.get("Condition") != condition:
            problems.append(f"{name}: not optional on {condition}")
        expected = {"VpcEndpointType": "Interface", "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}." + service},
                    "VpcId": {"Ref": "RotationVpcId"}, "SubnetIds": {"Ref": "RotationSubnetIds"},
                    "SecurityGroupIds": [endpoint_group], "PrivateDnsEnabled": True}
        for key, want in expected.items():
            if p.get(key) != want:
                problems.append(f"{name}: {key} is {p.get(key)!r}, want {want!r}")
        for s in statements(p.get("PolicyDocument", {})):
            if s.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalAccount") != {"Ref": "AWS::AccountId"}:
                problems.append(f"{name}: the endpoint policy is not limited to this account (aws:PrincipalAccount)")
    for group in ("RotationSecurityGroup", "RotationEndpointSecurityGroup"):
        if r.get(group, {}).get("Condition") != "MakeEndpoints":
            problems.append(f"{group}: not created with the endpoints only (MakeEndpoints)")
    # Who may reach the endpoints: ingress rules on their group, inline or separate.
    ingress = list(r.get("RotationEndpointSecurityGroup", {}).get("Properties", {}).get("SecurityGroupIngress", []))
    ingress += [x["Properties"] for x in resources(t, "AWS::EC2::SecurityGroupIngress").values()
                if x["Properties"].get("GroupId") == endpoint_group]
    https_from_rotation = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "SourceSecurityGroupId": rotation_group}
    if not ingress or any({k: v for k, v in i.items() if k not in ("Description", "GroupId")} != https_from_rotation for i in ingress):
        problems.append(f"RotationEndpointSecurityGroup: ingress {ingress}, want HTTPS from RotationSecurityGroup only")
    egress = r.get("RotationEndpointSecurityGroup", {}).get("Properties", {}).get("SecurityGroupEgress", [])
    if [{k: v for k, v in e.items() if k != "Description"} for e in egress] != [
            {"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32"}]:
        problems.append(f"RotationEndpointSecurityGroup: egress {egress}, want none (the rule that matches nothing)")
    egress = r.get("RotationSecurityGroup", {}).get("Properties", {}).get("SecurityGroupEgress", [])
    if [{k: v for k, v in e.items() if k != "Description"} for e in egress] != [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": endpoint_group}]:
        problems.append(f"RotationSecurityGroup: egress {egress}, want HTTPS to the endpoints only")
    for given in ("", "sg-given"):
        fn = resolve(t, {"RotationSubnetIds": "subnet-1", "RotationVpcId": "vpc-12345678",
                         "CreateSecretsManagerEndpoint": "true", "RotationSecurityGroupIds": given})["Resources"]["SecretRotation"]
        groups = json.dumps(fn["Properties"].get("VpcConfig", {}).get("SecurityGroupIds"))
        if json.dumps(rotation_group) not in groups or (given and "RotationSecurityGroupIds" not in groups):
            problems.append(f"SecretRotation with endpoints (given groups {given!r}): SecurityGroupIds {groups} lack RotationSecurityGroup or the given groups")
    return problems


# ------------------------------------------------------------------ tracing


def check_tracing(t: dict[str, Any]) -> list[str]:
    """X-Ray tracing is one switch, Tracing: PassThrough (Lambda's default, records nothing) or
    Active. It is every function's TracingConfig; with Active only, each role gets exactly the
    X-Ray statement (XRAY_STATEMENT), in its own Fn::If on ActiveTracing, and nothing else X-Ray."""
    problems = []
    p = t["Parameters"].get("Tracing", {})
    if p.get("Type") != "String" or p.get("Default") != "PassThrough" or sorted(p.get("AllowedValues", [])) != ["Active", "PassThrough"]:
        problems.append(f"Tracing: Default {p.get('Default')!r}, AllowedValues {p.get('AllowedValues')!r}, want Default PassThrough of [Active, PassThrough]")
    if t.get("Conditions", {}).get("ActiveTracing") != ACTIVE_TRACING:
        problems.append(f"ActiveTracing is not {ACTIVE_TRACING}")
    for logical, _, _, _ in FUNCTIONS.values():
        config = t["Resources"].get(logical, {}).get("Properties", {}).get("TracingConfig")
        if config != {"Mode": {"Ref": "Tracing"}}:
            problems.append(f"{logical}: TracingConfig is {config!r}, want Mode from the Tracing parameter")
    # As written: the X-Ray statement appears once in each role, wrapped in its own condition.
    for name, role in resources(t, "AWS::IAM::Role").items():
        items = [item for policy in role["Properties"].get("Policies", []) for item in as_list(policy["PolicyDocument"].get("Statement", []))]
        xray = [i for i in items if any(a.startswith("xray:") for b in branches(i) for s in as_list(b) for a in actions(s))]
        if len(xray) != 1:
            problems.append(f"{name}: {len(xray)} statements with X-Ray actions, want one")
        for i in xray:
            if not (isinstance(i, dict) and list(i) == ["Fn::If"] and i["Fn::If"][0] == "ActiveTracing" and i["Fn::If"][2] == NO_VALUE):
                problems.append(f"{name}: an X-Ray statement that is not conditional on ActiveTracing")
            elif i["Fn::If"][1] != XRAY_STATEMENT:
                problems.append(f"{name}: X-Ray statement {i['Fn::If'][1]}, want {XRAY_STATEMENT}")
    # As deployed: nothing X-Ray by default; with Active, the two actions in every role.
    for value, want in (("PassThrough", []), ("Active", XRAY_ACTIONS)):
        resolved = resolve(t, {"Tracing": value})
        for role in resources(resolved, "AWS::IAM::Role"):
            got = [a for r, s in role_statements(resolved) if r == role for a in actions(s) if a.startswith("xray:")]
            if got != want:
                problems.append(f"{role} with Tracing={value}: X-Ray actions {got}, want {want}")
    return problems


def check_parameter_groups(t: dict[str, Any]) -> list[str]:
    """Every parameter is in exactly one group of the console's parameter form, and every name there is a parameter."""
    groups = t.get("Metadata", {}).get("AWS::CloudFormation::Interface", {}).get("ParameterGroups", [])
    listed = [name for g in groups for name in g.get("Parameters", [])]
    problems = [f"{name} is in {listed.count(name)} parameter groups, want one" for name in t["Parameters"] if listed.count(name) != 1]
    problems += [f"{name} in the parameter groups is not a parameter" for name in sorted(set(listed) - set(t["Parameters"]))]
    return problems


# ------------------------------------------------------------------ conditions, as CloudFormation evaluates them


def parameter_values(t: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Each parameter's value: its default unless overridden; a CommaDelimitedList as a list."""
    values: dict[str, Any] = {}
    for name, p in t["Parameters"].items():
        value = str((overrides or {}).get(name, p.get("Default", "")))
        values[name] = value.split(",") if p.get("Type") == "CommaDelimitedList" else value
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise KeyError(f"not parameters of the template: {sorted(unknown)}")
    return values


def evaluate(t: dict[str, Any], value: Any, params: dict[str, Any]) -> Any:
    """A condition or rule expression (Equals, Not, And, Or, Condition, Ref, Join, Contains)."""
    if isinstance(value, list):
        return [evaluate(t, v, params) for v in value]
    if not isinstance(value, dict):
        return value
    (fn, arg), = value.items()
    if fn == "Ref":
        return params.get(arg, "${%s}" % arg)
    if fn == "Condition":
        return evaluate(t, t["Conditions"][arg], params)
    args = evaluate(t, arg, params)
    if fn == "Fn::Equals":
        return args[0] == args[1]
    if fn == "Fn::Not":
        return not args[0]
    if fn == "Fn::And":
        return all(args)
    if fn == "Fn::Or":
        return any(args)
    if fn == "Fn::Join":
        return args[0].join(args[1])
    if fn == "Fn::Contains":
        return args[1] in args[0]
    if fn == "Fn::Split":
        return args[1].split(args[0])
    if fn == "Fn::Select":
        return args[1][int(args[0])]
    raise ValueError(f"cannot evaluate {fn}")


def resolve(t: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The template as CloudFormation would deploy it with these parameters: resources whose
    condition is false removed, each Fn::If replaced by its branch, AWS::NoValue removed. Other
    intrinsic functions stay as they are."""
    params = parameter_values(t, overrides)
    conditions = {name: evaluate(t, c, params) for name, c in t.get("Conditions", {}).items()}

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if "Fn::If" in v and len(v) == 1:
                c, yes, no = v["Fn::If"]
                return walk(yes if conditions[c] else no)
            out = {k: walk(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x != NO_VALUE}
        if isinstance(v, list):
            return [x for x in (walk(i) for i in v) if x != NO_VALUE]
        return v

    out = dict(t)
    out["Resources"] = {name: walk(r) for name, r in t["Resources"].items() if conditions.get(r.get("Condition"), True)}
    out["Outputs"] = {name: walk(o) for name, o in t.get("Outputs", {}).items() if conditions.get(o.get("Condition"), True)}
    return out


def failed_rules(t: dict[str, Any], overrides: dict[str, str] | None = None) -> list[str]:
    """The AssertDescription of each Rule assertion these parameters fail (CloudFormation refuses the stack)."""
    params = parameter_values(t, overrides)
    failed = []
    for rule in t.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(t, rule["RuleCondition"], params):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(t, a["Assert"], params)]
    return failed


def check_notifications(t: dict[str, Any]) -> list[str]:
    problems = []
    r = t["Resources"]
    topics = resources(t, "AWS::SNS::Topic")
    for name, topic in topics.items():
        if topic["Properties"].get("KmsMasterKeyId") != {"Fn::GetAtt": ["Key", "Arn"]}:
            problems.append(f"{name}: not encrypted with the stack's key")
    for name, sub in resources(t, "AWS::SNS::Subscription").items():
        if sub.get("Condition") != "HasEmail" or sub["Properties"].get("Endpoint") != {"Ref": "NotificationEmail"}:
            problems.append(f"{name}: the email subscription is not optional on NotificationEmail")
    topic_arn = ARN % ("sns", "${AppPrefix}-${Environment}-notifications")
    if texts(r.get("NotificationTopic", {}).get("Properties", {}).get("TopicName")) != ["${AppPrefix}-${Environment}-notifications"]:
        problems.append("NotificationTopic: the name is not what the roles may publish to")
    for role in ("ParameterNotifierRole", "CertificateNotifierRole", "RotationHealthRole"):
        published = [x for rr, s in role_statements(t) if rr == role and "sns:Publish" in actions(s) for x in texts(s["Resource"])]
        if published != [topic_arn]:
            problems.append(f"{role}: publishes to {published}, not only the topic")
    alarms = [a["Properties"] for a in resources(t, "AWS::CloudWatch::Alarm").values()]
    if not any(a.get("MetricName") == "Errors" and a.get("Namespace") == "AWS/Lambda"
               and {"Name": "FunctionName", "Value": {"Ref": "SecretRotation"}} in a.get("Dimensions", [])
               and {"Ref": "NotificationTopic"} in a.get("AlarmActions", []) for a in alarms):
        problems.append("no alarm on the rotation function's errors notifying the topic")
    if t["Parameters"].get("CertificateConfigRuleName", {}).get("Default") != CONFIG_RULE_DEFAULT:
        problems.append(f"CertificateConfigRuleName: the default is not {CONFIG_RULE_DEFAULT}")
    rules = resources(t, "AWS::Config::ConfigRule")
    if len(rules) != 1:
        problems.append(f"{len(rules)} Config rules, want one")
    for name, rule in rules.items():
        p = rule["Properties"]
        if rule.get("Condition") != "MakeConfigRule":
            problems.append(f"{name}: not conditional on CreateConfigRule")
        if p.get("ConfigRuleName") != CONFIG_RULE_NAME:
            problems.append(f"{name}: ConfigRuleName is {p.get('ConfigRuleName')}")
        if p.get("Source") != {"Owner": "AWS", "SourceIdentifier": "ACM_CERTIFICATE_EXPIRATION_CHECK"}:
            problems.append(f"{name}: not the managed ACM_CERTIFICATE_EXPIRATION_CHECK")
        if p.get("InputParameters") != {"daysToExpiration": {"Ref": "CertificateExpiryDays"}}:
            problems.append(f"{name}: daysToExpiration is not CertificateExpiryDays")
    env = r.get("CertificateNotifier", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    if env.get("CONFIG_RULE_NAME") != CONFIG_RULE_NAME:
        problems.append("CertificateNotifier: CONFIG_RULE_NAME is not the Config rule's name")
    pattern = r.get("CertificateComplianceRule", {}).get("Properties", {}).get("EventPattern", {})
    if pattern.get("detail", {}).get("configRuleName") != [CONFIG_RULE_NAME]:
        problems.append("CertificateComplianceRule: does not select the Config rule by name")
    if r.get("ParameterNotifier", {}).get("Properties", {}).get("Environment", {}).get("Variables", {}).get("PARAMETER_PREFIX") != {"Fn::Sub": "/${AppPrefix}"}:
        problems.append("ParameterNotifier: PARAMETER_PREFIX is not /${AppPrefix} (the rules' prefix)")
    for fn in ("ParameterNotifier", "CertificateNotifier", "RotationHealth"):
        if r.get(fn, {}).get("Properties", {}).get("Environment", {}).get("Variables", {}).get("TOPIC_ARN") != {"Ref": "NotificationTopic"}:
            problems.append(f"{fn}: TOPIC_ARN is not the topic")
    return problems


def check_rotation_health(t: dict[str, Any]) -> list[str]:
    """Rotation health may invoke the stack's rotation function only (the doctor), read and write
    String parameters under its own state path only, read the optional list of secrets only when
    one is given; it watches the rotated secret; its rules select the rotation events, the two
    Config rules by their parameters, and the sweep's schedule with the constant input."""
    problems = []
    r = t["Resources"]
    for role, s in role_statements(t):
        if role != "RotationHealthRole":
            continue
        resources_ = texts(s.get("Resource", []))
        if "lambda:InvokeFunction" in actions(s) and resources_ != [ROTATION_FUNCTION]:
            problems.append(f"RotationHealthRole {s.get('Sid')}: may invoke {resources_}, not only the rotation function")
        if "ssm:PutParameter" in actions(s) and resources_ != [HEALTH_STATES]:
            problems.append(f"RotationHealthRole {s.get('Sid')}: writes {resources_}, not only its states {HEALTH_STATES}")
        if "ssm:GetParameter" in actions(s) and not set(resources_) <= {HEALTH_STATES, HEALTH_LIST}:
            problems.append(f"RotationHealthRole {s.get('Sid')}: reads {resources_}, beyond its states and its list")
    items = [item for policy in r.get("RotationHealthRole", {}).get("Properties", {}).get("Policies", [])
             for item in as_list(policy["PolicyDocument"].get("Statement", []))]
    for item in items:
        listed = any(HEALTH_LIST in texts(b.get("Resource", [])) for b in branches(item) if isinstance(b, dict))
        if listed and not (isinstance(item, dict) and "Fn::If" in item and item["Fn::If"][0] == "HasRotationHealthSecretsParameter"
                           and item["Fn::If"][2] == NO_VALUE):
            problems.append("RotationHealthRole: the list of secrets is read without a list given (not conditional on HasRotationHealthSecretsParameter)")
    if HEALTH_STATE_PATH.startswith("/${AppPrefix}/") or HEALTH_STATE_PATH.lower().startswith(("/aws", "/ssm")):
        problems.append(f"{HEALTH_STATE_PATH}: inside /<prefix>/ or a reserved path")
    env = r.get("RotationHealth", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    want = {"SECRETS": ROTATED_SECRET, "DOCTOR_FUNCTION": {"Fn::GetAtt": ["SecretRotation", "Arn"]},
            "STATE_PATH": {"Fn::Sub": HEALTH_STATE_PATH},
            "SECRETS_PARAMETER": {"Fn::If": ["HasRotationHealthSecretsParameter", {"Ref": "RotationHealthSecretsParameter"}, NO_VALUE]},
            "SCHEDULED_ROTATION_RULE": {"Ref": "ScheduledRotationConfigRuleName"},
            "PERIODIC_ROTATION_RULE": {"Ref": "PeriodicRotationConfigRuleName"}}
    for key, value in want.items():
        if env.get(key) != value:
            problems.append(f"RotationHealth: {key} is {env.get(key)!r}, want {value!r}")
    pattern = r.get("RotationEventsRule", {}).get("Properties", {}).get("EventPattern")
    if pattern != ROTATION_EVENTS_PATTERN:
        problems.append(f"RotationEventsRule: pattern {pattern}, want {ROTATION_EVENTS_PATTERN}")
    names = r.get("RotationComplianceRule", {}).get("Properties", {}).get("EventPattern", {}).get("detail", {}).get("configRuleName")
    if names != [{"Ref": "ScheduledRotationConfigRuleName"}, {"Ref": "PeriodicRotationConfigRuleName"}]:
        problems.append(f"RotationComplianceRule: selects {names}, not the two rotation rules' names")
    sweep = r.get("RotationHealthSweepRule", {}).get("Properties", {})
    if sweep.get("ScheduleExpression") != {"Ref": "RotationHealthSchedule"}:
        problems.append("RotationHealthSweepRule: ScheduleExpression is not RotationHealthSchedule")
    inputs = [json.loads(x.get("Input", "null")) for x in sweep.get("Targets", [])]
    if inputs != [{"Action": "sweep"}]:
        problems.append(f"RotationHealthSweepRule: Input {inputs}, want one target with {{\"Action\": \"sweep\"}}")
    return problems


def check_parameter_audit(t: dict[str, Any]) -> list[str]:
    """The parameter notifier's weekly audit: it lists its environment's path only, never with a
    KMS right (SecureStrings come back encrypted), reads and writes its one state parameter, which
    the stack creates outside /<prefix>/; its rule is the schedule with the constant input the
    function recognises, retried, with the rules' dead-letter queue."""
    problems = []
    r = t["Resources"]
    for role, s in role_statements(t):
        if role != "ParameterNotifierRole":
            continue
        acts, where = actions(s), texts(s.get("Resource", []))
        if "ssm:GetParametersByPath" in acts and where != AUDIT_PATH_ARNS:
            problems.append(f"ParameterNotifierRole {s.get('Sid')}: lists {where}, not only its environment")
        if {"ssm:GetParameter", "ssm:PutParameter"} & set(acts) and where != [AUDIT_STATE_ARN]:
            problems.append(f"ParameterNotifierRole {s.get('Sid')}: reads or writes {where}, not only the audit's state")
        if any(a.startswith("kms:") for a in acts):
            problems.append(f"ParameterNotifierRole {s.get('Sid')}: a KMS right (the audit never decrypts)")
    state = r.get("ParameterAuditState", {}).get("Properties", {})
    if texts(state.get("Name")) != [AUDIT_STATE] or state.get("Type") != "String" or state.get("Value") != "none":
        problems.append(f"ParameterAuditState: {state}, want the String {AUDIT_STATE} = none")
    if AUDIT_STATE.startswith("/${AppPrefix}/") or AUDIT_STATE.lower().startswith(("/aws", "/ssm")):
        problems.append(f"{AUDIT_STATE}: inside /<prefix>/ or a reserved path")
    env = r.get("ParameterNotifier", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    for key, want in (("AUDIT_PATH", {"Fn::Sub": "/${AppPrefix}/${Environment}/"}), ("AUDIT_STATE_PARAMETER", {"Fn::Sub": AUDIT_STATE})):
        if env.get(key) != want:
            problems.append(f"ParameterNotifier: {key} is {env.get(key)!r}, want {want!r}")
    rule = r.get("ParameterAuditRule", {}).get("Properties", {})
    if rule.get("ScheduleExpression") != {"Ref": "ParameterAuditSchedule"}:
        problems.append("ParameterAuditRule: ScheduleExpression is not ParameterAuditSchedule")
    targets = rule.get("Targets", [])
    if [json.loads(x.get("Input", "null")) for x in targets] != [AUDIT_INPUT]:
        problems.append(f"ParameterAuditRule: Input is not {AUDIT_INPUT}")
    if [x.get("Arn") for x in targets] != [{"Fn::GetAtt": ["ParameterNotifier", "Arn"]}]:
        problems.append("ParameterAuditRule: the target is not the parameter notifier")
    return problems


def check_acm_account(t: dict[str, Any]) -> list[str]:
    """ACM's account setting: set only when AcmDaysBeforeExpiry is given (1 to 45), to it; the
    certificate notifier reads it (a no-resource action)."""
    problems = []
    account = resources(t, "AWS::CertificateManager::Account")
    if list(account) != ["AcmAccountConfiguration"]:
        problems.append(f"ACM account configuration resources: {list(account)}")
    for name, res in account.items():
        if res.get("Condition") != "HasAcmDaysBeforeExpiry":
            problems.append(f"{name}: not conditional on HasAcmDaysBeforeExpiry")
        if res["Properties"].get("ExpiryEventsConfiguration") != {"DaysBeforeExpiry": {"Ref": "AcmDaysBeforeExpiry"}}:
            problems.append(f"{name}: DaysBeforeExpiry is not AcmDaysBeforeExpiry")
    if t["Conditions"].get("HasAcmDaysBeforeExpiry") != {"Fn::Not": [{"Fn::Equals": [{"Ref": "AcmDaysBeforeExpiry"}, ""]}]}:
        problems.append("HasAcmDaysBeforeExpiry is not AcmDaysBeforeExpiry given")
    import re
    pattern = t["Parameters"].get("AcmDaysBeforeExpiry", {}).get("AllowedPattern", "")
    accepted = [v for v in ["", *map(str, range(61)), "045", "4 5"] if re.fullmatch(pattern, v)]
    if accepted != ["", *map(str, range(1, 46))]:
        problems.append(f"AcmDaysBeforeExpiry: the pattern accepts {accepted}, want empty or 1 to 45")
    read = [s for role, s in role_statements(t) if role == "CertificateNotifierRole" and "acm:GetAccountConfiguration" in actions(s)]
    if len(read) != 1:
        problems.append("CertificateNotifierRole: acm:GetAccountConfiguration is not in one statement")
    return problems


def check_outputs(t: dict[str, Any]) -> list[str]:
    missing = REQUIRED_OUTPUTS - set(t.get("Outputs", {}))
    return [f"missing outputs {sorted(missing)}"] if missing else []


CHECKS = [check_role_statements, check_wildcard_comments, check_roles_trust, check_reader_scope, check_key_policy, check_functions,
          check_async_failures, check_rules, check_rotation, check_rotation_network, check_tracing, check_parameter_groups,
          check_notifications, check_rotation_health, check_parameter_audit, check_acm_account, check_outputs]


def policy(document: Any) -> dict[str, Any]:
    """A policy document as moto 5.2.1 returns it: a dict, JSON, or the repr of a Python dict."""
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except ValueError:
        return ast.literal_eval(document)
