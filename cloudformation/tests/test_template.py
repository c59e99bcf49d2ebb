"""Tests over the parsed template: the template passes every rule of template_rules.py, and every
rule catches a template broken the way it guards against (so none of them can pass by accident)."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

import template_rules as rules

TEMPLATE = rules.load()


def statement(t: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    for r, s in rules.role_statements(t):
        if r == role and s.get("Sid") == sid:
            return s
    raise KeyError(f"{role} {sid}")


def key_statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    for s in rules.statements(t["Resources"]["Key"]["Properties"]["KeyPolicy"]):
        if s.get("Sid") == sid:
            return s
    raise KeyError(sid)


def props(t: dict[str, Any], name: str) -> dict[str, Any]:
    return t["Resources"][name]["Properties"]


def target(t: dict[str, Any], rule: str) -> dict[str, Any]:
    return props(t, rule)["Targets"][0]


def reader_decrypt(t: dict[str, Any]) -> dict[str, Any]:
    return key_statement(t, "ConfigReaderDecryptsItsEnvironmentsParameters")


# (the check, how the template is broken, what the check must say)
MUTATIONS: list[tuple[Callable, Callable[[dict], Any], str]] = [
    (rules.check_role_statements, lambda t: statement(t, "ConfigReaderRole", "ReadItsEnvironmentsParameters").update(Action="ssm:*"), "wildcard action ssm:*"),
    (rules.check_role_statements, lambda t: statement(t, "ConfigReaderRole", "ReadItsEnvironmentsParameters").update(Resource="*"), 'Resource "*"'),
    (rules.check_role_statements, lambda t: statement(t, "ConfigReaderRole", "ReadItsEnvironmentsParameters")["Action"].append("ssm:PutParameter"), "ssm:PutParameter is not an action"),
    (rules.check_role_statements, lambda t: statement(t, "CertificateNotifierRole", "DescribeTheAccountsCertificates").update(Resource="arn:aws:acm:*:*:certificate/*"), "not scoped to this account"),
    (rules.check_role_statements, lambda t: statement(t, "ParameterNotifierRole", "PublishToItsTopic").update(Action="sns:Subscribe"), "missing ['sns:Publish']"),
    (rules.check_role_statements, lambda t: statement(t, "ParameterNotifierRole", "PublishToItsTopic").update(Effect="Deny"), "Effect must be Allow"),
    (rules.check_role_statements, lambda t: statement(t, "ParameterNotifierRole", "PublishToItsTopic").update(NotResource="x"), "NotResource is not allowed"),
    (rules.check_role_statements,
     lambda t: statement(t, "SecretRotationRole", "DescribeNetworkInterfacesHasNoResource").update(Action=["ec2:DescribeNetworkInterfaces", "ec2:CreateNetworkInterface"]),
     "Resource \"*\" for ['ec2:CreateNetworkInterface']"),
    (lambda t: rules.check_wildcard_comments(t, "\n".join(l for l in rules.TEMPLATE.read_text().splitlines() if "no resource-level permissions" not in l)),
     lambda t: None, "no comment above"),
    (rules.check_wildcard_comments, lambda t: statement(t, "ParameterNotifierRole", "DescribeParametersHasNoResource").update(Sid="Describe"), "Sid does not end in HasNoResource"),
    (rules.check_roles_trust, lambda t: props(t, "CertificateNotifier").update(Role={"Fn::GetAtt": ["ParameterNotifierRole", "Arn"]}), "shared by"),
    (rules.check_roles_trust, lambda t: props(t, "ConfigReaderRole")["AssumeRolePolicyDocument"]["Statement"][0].update(Principal={"Service": "ec2.amazonaws.com"}), "not Lambda"),
    (rules.check_roles_trust, lambda t: props(t, "ConfigReaderRole")["AssumeRolePolicyDocument"]["Statement"][0].pop("Condition"), "without aws:SourceAccount"),
    (rules.check_roles_trust, lambda t: props(t, "ConfigReaderRole").update(ManagedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]), "managed policies"),
    (rules.check_reader_scope, lambda t: statement(t, "ConfigReaderRole", "ReadItsEnvironmentsParameters").update(Resource={"Fn::Sub": rules.ARN % ("ssm", "parameter/${AppPrefix}/*")}), "outside"),
    (rules.check_reader_scope, lambda t: statement(t, "ConfigReaderRole", "ReadItsSecretThroughParameterStore")["Resource"].append({"Fn::Sub": rules.ARN % ("secretsmanager", "secret:*")}), "may read the secret"),
    (rules.check_reader_scope, lambda t: props(t, "ConfigReader")["Environment"]["Variables"].update(DEV_OR_PROD="prod"), "DEV_OR_PROD"),
    (rules.check_key_policy, lambda t: reader_decrypt(t)["Condition"].pop("StringEquals"), "without kms:ViaService"),
    (rules.check_key_policy, lambda t: reader_decrypt(t)["Condition"]["StringLike"].update({"kms:EncryptionContext:PARAMETER_ARN": {"Fn::Sub": rules.ARN % ("ssm", "parameter/${AppPrefix}/*")}}), "not limited to"),
    (rules.check_key_policy, lambda t: key_statement(t, "AccountUsesTheKeyThroughSsmAndSecretsManager").pop("Condition"), "without kms:ViaService"),
    (rules.check_key_policy, lambda t: key_statement(t, "AccountAdministersTheKey")["Action"].append("kms:Decrypt"), "without kms:ViaService"),
    (rules.check_key_policy, lambda t: key_statement(t, "LogsEncryptsTheFunctionsLogGroups").pop("Condition"), "for a service without a condition"),
    (rules.check_key_policy, lambda t: key_statement(t, "NotifiersPublishToTheEncryptedTopic").update(Principal="*"), "wildcard principal"),
    (rules.check_key_policy, lambda t: props(t, "Key").update(EnableKeyRotation=False), "EnableKeyRotation"),
    (rules.check_key_policy, lambda t: reader_decrypt(t).update(Sid="Other", Principal={"AWS": {"Fn::GetAtt": ["SecretRotationRole", "Arn"]}}), "no statement lets the config reader decrypt"),
    (rules.check_key_policy, lambda t: statement(t, "ConfigReaderRole", "Logs").update(Action=["kms:Decrypt"]), "KMS rights belong in the key policy"),
    (rules.check_functions, lambda t: props(t, "SecretRotation").update(Architectures=["x86_64"]), "Architectures"),
    (rules.check_functions, lambda t: props(t, "ConfigReader").update(Runtime="provided.al2"), "Runtime"),
    (rules.check_functions, lambda t: props(t, "ConfigReader").update(MemorySize=1024), "MemorySize"),
    (rules.check_functions, lambda t: props(t, "ParameterNotifier")["LoggingConfig"].update(LogFormat="Text"), "LogFormat is not JSON"),
    (rules.check_functions, lambda t: props(t, "ParameterNotifier")["LoggingConfig"].pop("LogGroup"), "not a log group of the template"),
    (rules.check_functions, lambda t: props(t, "CertificateNotifierLogGroup").pop("RetentionInDays"), "no RetentionInDays"),
    (rules.check_functions, lambda t: props(t, "ConfigReaderLogGroup").update(LogGroupName="/aws/lambda/reader"), "LogGroupName"),
    (rules.check_functions, lambda t: statement(t, "ConfigReaderRole", "Logs").update(Resource={"Fn::Sub": rules.ARN % ("logs", "log-group:*")}), "may not write exactly to its log group"),
    (rules.check_functions, lambda t: props(t, "SecretRotation").pop("ReservedConcurrentExecutions"), "ReservedConcurrentExecutions"),
    (rules.check_functions, lambda t: props(t, "ConfigReader")["Code"].update(S3Key={"Fn::Sub": "${CodeKeyPrefix}/secret-rotation/bootstrap.zip"}), "Code is not the packaged"),
    (rules.check_async_failures, lambda t: props(t, "ParameterNotifier").pop("DeadLetterConfig"), "without a dead-letter queue"),
    (rules.check_async_failures, lambda t: statement(t, "CertificateNotifierRole", "DeadLetters").update(Resource={"Fn::Sub": rules.ARN % ("sqs", "other")}), "may not send to its dead-letter queue"),
    (rules.check_rules, lambda t: target(t, "ParameterChangeRule").pop("RetryPolicy"), "no RetryPolicy"),
    (rules.check_rules, lambda t: target(t, "CertificateEventsRule").pop("DeadLetterConfig"), "no DeadLetterConfig"),
    (rules.check_rules, lambda t: t["Resources"].pop("ParameterChangePermission"), "ParameterChangeRule -> parameter-notifier: no lambda:InvokeFunction permission"),
    (rules.check_rules, lambda t: props(t, "CertificateCompliancePermission").update(SourceArn={"Fn::GetAtt": ["CertificateEventsRule", "Arn"]}), "CertificateComplianceRule -> certificate-notifier: no lambda"),
    (rules.check_rules, lambda t: props(t, "CertificateCompliancePermission").pop("SourceArn"), "without SourceArn"),
    (rules.check_rules, lambda t: props(t, "RuleDeadLetterQueuePolicy")["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"].pop(), "does not accept this rule"),
    (rules.check_rules, lambda t: target(t, "ParameterPolicyActionRule").update(Arn="arn:aws:lambda:us-east-1:123456789012:function:x"), "not a function of the template"),
    (rules.check_rotation, lambda t: props(t, "SecretRotationPermission").pop("SourceAccount"), "with SourceAccount"),
    (rules.check_rotation, lambda t: statement(t, "SecretRotationRole", "RotateItsSecret").pop("Condition"), "AllowRotationLambdaArn"),
    (rules.check_rotation, lambda t: statement(t, "SecretRotationRole", "RotateItsSecret").update(Resource={"Fn::Sub": rules.ARN % ("secretsmanager", "secret:*")}), "not limited to its secret"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").pop("ReplicaRegions"), "replica regions"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").pop("KmsKeyId"), "not encrypted with the stack's key"),
    (rules.check_rotation, lambda t: t["Resources"]["DatabaseSecretRotation"].pop("DependsOn"), "DependsOn"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecretRotation").update(RotationLambdaARN={"Fn::GetAtt": ["ConfigReader", "Arn"]}), "RotationLambdaARN"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").update(Name="db-credentials"), "the name is not"),
    (rules.check_notifications, lambda t: props(t, "NotificationTopic").pop("KmsMasterKeyId"), "not encrypted"),
    (rules.check_notifications, lambda t: t["Resources"]["NotificationEmailSubscription"].pop("Condition"), "not optional"),
    (rules.check_notifications, lambda t: t["Resources"].pop("SecretRotationErrorsAlarm"), "no alarm on the rotation function"),
    (rules.check_notifications, lambda t: props(t, "CertificateExpirationConfigRule").update(ConfigRuleName="acm-expiry"), "ConfigRuleName"),
    (rules.check_notifications, lambda t: props(t, "CertificateExpirationConfigRule").update(InputParameters={"daysToExpiration": 30}), "daysToExpiration"),
    (rules.check_notifications, lambda t: t["Resources"]["CertificateExpirationConfigRule"].pop("Condition"), "not conditional"),
    (rules.check_notifications, lambda t: statement(t, "CertificateNotifierRole", "PublishToItsTopic").update(Resource="*"), "not only the topic"),
    (rules.check_notifications, lambda t: props(t, "CertificateComplianceRule")["EventPattern"]["detail"].update(configRuleName=["other"]), "does not select the Config rule"),
    (rules.check_notifications, lambda t: props(t, "ParameterNotifier")["Environment"]["Variables"].pop("PARAMETER_PREFIX"), "PARAMETER_PREFIX"),
    (rules.check_outputs, lambda t: t["Outputs"].pop("KeyArn"), "KeyArn"),
]


@pytest.mark.parametrize("check", rules.CHECKS, ids=lambda c: c.__name__)
def test_template_passes(check):
    assert check(TEMPLATE) == []


@pytest.mark.parametrize("check,mutate,expected", MUTATIONS, ids=[f"{getattr(m[0], '__name__', 'check')}-{i}" for i, m in enumerate(MUTATIONS)])
def test_check_catches_a_broken_template(check, mutate, expected):
    broken = copy.deepcopy(TEMPLATE)
    mutate(broken)
    problems = check(broken)
    assert any(expected in p for p in problems), problems


def test_every_check_is_exercised_by_a_mutation():
    assert set(rules.CHECKS) - {m[0] for m in MUTATIONS} == set()


def test_loader_keeps_intrinsic_functions():
    r = TEMPLATE["Resources"]
    assert r["ConfigReader"]["Properties"]["Role"] == {"Fn::GetAtt": ["ConfigReaderRole", "Arn"]}
    assert r["ConfigReaderLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AppPrefix}-${Environment}-config-reader"}
    assert rules.texts({"Fn::If": ["C", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}) == ["${A}"]
    assert rules.arn_parts(rules.READER_PARAMETERS)[3:5] == ["${AWS::Region}", "${AWS::AccountId}"]
