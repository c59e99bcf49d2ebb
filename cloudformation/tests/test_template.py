"""Tests over the parsed template: the template passes every rule of template_rules.py, and every
rule catches a template broken the way it guards against (so none of them can pass by accident)."""
from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

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


def env(t: dict[str, Any]) -> dict[str, Any]:
    return props(t, "SecretRotation")["Environment"]["Variables"]


def rotation_items(t: dict[str, Any]) -> list[Any]:
    """The rotation role's statement list as written (Fn::If items included)."""
    return props(t, "SecretRotationRole")["Policies"][0]["PolicyDocument"]["Statement"]


def unconditional(t: dict[str, Any], sid: str, role: str = "SecretRotationRole") -> None:
    """Replace the Fn::If around the statement `sid` of `role` by the statement itself."""
    items = props(t, role)["Policies"][0]["PolicyDocument"]["Statement"]
    for i, item in enumerate(items):
        if isinstance(item, dict) and "Fn::If" in item and item["Fn::If"][1].get("Sid") == sid:
            items[i] = item["Fn::If"][1]
            return
    raise KeyError(sid)


def secret_key(t: dict[str, Any]) -> dict[str, Any]:
    return statement(t, "SecretRotationRole", "UseTheSecretsKeyThroughSecretsManager")


def endpoint_policy(t: dict[str, Any], name: str) -> dict[str, Any]:
    return props(t, name)["PolicyDocument"]["Statement"][0]


XRAY_SID = "WriteTracesHasNoResource"


def xray(t: dict[str, Any], role: str) -> dict[str, Any]:
    return statement(t, role, XRAY_SID)


def drop_xray(t: dict[str, Any], role: str) -> None:
    items = props(t, role)["Policies"][0]["PolicyDocument"]["Statement"]
    items[:] = [i for i in items if not (isinstance(i, dict) and "Fn::If" in i and i["Fn::If"][1].get("Sid") == XRAY_SID)]


def without_comment_above(sid: str, occurrence: int) -> str:
    """The template's text without the comment above the given occurrence of a repeated Sid."""
    lines = rules.TEMPLATE.read_text().splitlines()
    at = [i for i, line in enumerate(lines) if line.strip() == f"- Sid: {sid}"][occurrence]
    return "\n".join(line for i, line in enumerate(lines) if not (at - 4 <= i < at and line.strip().startswith("#")))


def groups(t: dict[str, Any]) -> list[dict[str, Any]]:
    return t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]


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
     lambda t: statement(t, "SecretRotationRole", "DescribeNetworkInterfacesAndSubnetsHasNoResource").update(Action=["ec2:DescribeNetworkInterfaces", "ec2:CreateNetworkInterface"]),
     "Resource \"*\" for ['ec2:CreateNetworkInterface']"),
    (lambda t: rules.check_wildcard_comments(t, "\n".join(line for line in rules.TEMPLATE.read_text().splitlines() if "no resource-level permissions" not in line)),
     lambda t: None, "no comment above"),
    (rules.check_wildcard_comments, lambda t: statement(t, "ParameterNotifierRole", "DescribeParametersHasNoResource").update(Sid="Describe"), "Sid does not end in HasNoResource"),
    # the X-Ray statement is in every role: each copy needs its comment, not only the first
    (lambda t: rules.check_wildcard_comments(t, without_comment_above(XRAY_SID, 2)), lambda t: None, f"{XRAY_SID}: no comment above"),
    (rules.check_role_statements, lambda t: xray(t, "ParameterNotifierRole").update(Action="xray:*"), "wildcard action xray:*"),
    (rules.check_role_statements, lambda t: xray(t, "ConfigReaderRole")["Action"].append("xray:GetSamplingRules"), "xray:GetSamplingRules is not an action"),
    (rules.check_role_statements, lambda t: xray(t, "CertificateNotifierRole")["Action"].append("sns:Publish"), "Resource \"*\" for ['sns:Publish']"),
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
    (rules.check_key_policy, lambda t: secret_key(t).update(Resource="*"), "KMS rights belong in the key policy"),
    (rules.check_key_policy, lambda t: secret_key(t)["Condition"]["StringEquals"].pop("kms:ViaService"), "not limited to Secrets Manager"),
    (rules.check_key_policy, lambda t: secret_key(t)["Condition"]["StringEquals"].pop("kms:EncryptionContext:SecretARN"), "not limited to the rotated secret"),
    (rules.check_key_policy, lambda t: secret_key(t)["Condition"].update(StringLike={"kms:EncryptionContext:SecretARN": "*"}), "StringEquals only"),
    (rules.check_key_policy, lambda t: secret_key(t)["Action"].append("kms:Encrypt"), "on the secret's key"),
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
    (rules.check_rotation, lambda t: props(t, "SecretRotationPermission").pop("SourceArn"), "not the rotated secret only (SourceArn)"),
    (rules.check_rotation, lambda t: props(t, "SecretRotationPermission").update(SourceArn={"Ref": "DatabaseSecretArn"}), "not the rotated secret only (SourceArn)"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecretRotation")["RotationRules"].update(ScheduleExpression="rate(30 days)"), "RotationRules"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecretRotation")["RotationRules"].pop("Duration"), "RotationRules"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecretRotation").update(RotateImmediatelyOnUpdate=True), "RotateImmediatelyOnUpdate"),
    (rules.check_rotation, lambda t: env(t).pop("ALLOWED_SECRETS"), "ALLOWED_SECRETS is None"),
    (rules.check_rotation, lambda t: env(t).update(ALLOWED_SECRETS={"Ref": "DatabaseSecretArn"}), "ALLOWED_SECRETS"),
    (rules.check_rotation, lambda t: env(t).update(ALLOWED_MASTER_SECRETS={"Fn::If": ["HasMasterSecret", {"Ref": "MasterSecretArn"}, ""]}), "ALLOWED_MASTER_SECRETS"),
    (rules.check_rotation, lambda t: unconditional(t, "UseTheSecretsKeyThroughSecretsManager"), "not conditional on HasSecretKmsKey"),
    (rules.check_rotation, lambda t: t["Conditions"].update(HasSecretKmsKey={"Fn::Not": [{"Fn::Equals": [{"Ref": "DatabaseSecretKmsKeyArn"}, ""]}]}), "HasSecretKmsKey is not"),
    (rules.check_rotation_network, lambda t: statement(t, "SecretRotationRole", "NetworkInterfacesInTheVpc")["Action"].remove("ec2:AssignPrivateIpAddresses"), "in a VPC: EC2 actions"),
    (rules.check_rotation_network, lambda t: statement(t, "SecretRotationRole", "DescribeNetworkInterfacesAndSubnetsHasNoResource").update(Action="ec2:DescribeNetworkInterfaces"), "in a VPC: EC2 actions"),
    (rules.check_rotation_network, lambda t: unconditional(t, "NetworkInterfacesInTheVpc"), "without a VPC: EC2 actions"),
    (rules.check_rotation_network, lambda t: props(t, "SecretsManagerEndpoint").update(PrivateDnsEnabled=False), "PrivateDnsEnabled"),
    (rules.check_rotation_network, lambda t: props(t, "SecretsManagerEndpoint").update(ServiceName={"Fn::Sub": "com.amazonaws.${AWS::Region}.rds"}), "ServiceName"),
    (rules.check_rotation_network, lambda t: props(t, "RdsEndpoint").update(SubnetIds=["subnet-1"]), "SubnetIds"),
    (rules.check_rotation_network, lambda t: t["Resources"]["RdsEndpoint"].pop("Condition"), "not optional on MakeRdsEndpoint"),
    (rules.check_rotation_network, lambda t: endpoint_policy(t, "RdsEndpoint").pop("Condition"), "aws:PrincipalAccount"),
    (rules.check_rotation_network, lambda t: props(t, "RotationEndpointIngress").update(SourceSecurityGroupId=None, CidrIp="10.0.0.0/8"), "want HTTPS from RotationSecurityGroup only"),
    (rules.check_rotation_network, lambda t: props(t, "RotationEndpointSecurityGroup").update(SecurityGroupIngress=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]), "want HTTPS from RotationSecurityGroup only"),
    (rules.check_rotation_network, lambda t: props(t, "RotationEndpointSecurityGroup").pop("SecurityGroupEgress"), "RotationEndpointSecurityGroup: egress"),
    (rules.check_rotation_network, lambda t: props(t, "RotationSecurityGroup").update(SecurityGroupEgress=[{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]), "want HTTPS to the endpoints only"),
    (rules.check_rotation_network, lambda t: props(t, "SecretRotation")["VpcConfig"]["Fn::If"][1].update(SecurityGroupIds={"Ref": "RotationSecurityGroupIds"}), "lack RotationSecurityGroup"),
    (rules.check_rotation_network, lambda t: t["Resources"]["RotationSecurityGroup"].pop("Condition"), "not created with the endpoints only"),
    (rules.check_rotation, lambda t: statement(t, "SecretRotationRole", "RotateItsSecret").pop("Condition"), "AllowRotationLambdaArn"),
    (rules.check_rotation, lambda t: statement(t, "SecretRotationRole", "RotateItsSecret").update(Resource={"Fn::Sub": rules.ARN % ("secretsmanager", "secret:*")}), "not limited to its secret"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").pop("ReplicaRegions"), "replica regions"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").pop("KmsKeyId"), "not encrypted with the stack's key"),
    (rules.check_rotation, lambda t: t["Resources"]["DatabaseSecretRotation"].pop("DependsOn"), "DependsOn"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecretRotation").update(RotationLambdaARN={"Fn::GetAtt": ["ConfigReader", "Arn"]}), "RotationLambdaARN"),
    (rules.check_rotation, lambda t: props(t, "DatabaseSecret").update(Name="db-credentials"), "the name is not"),
    (rules.check_tracing, lambda t: props(t, "SecretRotation").pop("TracingConfig"), "SecretRotation: TracingConfig is None"),
    (rules.check_tracing, lambda t: props(t, "ConfigReader").update(TracingConfig={"Mode": "Active"}), "ConfigReader: TracingConfig"),
    (rules.check_tracing, lambda t: t["Parameters"]["Tracing"].update(Default="Active"), "Tracing: Default 'Active'"),
    (rules.check_tracing, lambda t: t["Parameters"]["Tracing"]["AllowedValues"].append("Disabled"), "Tracing: Default"),
    (rules.check_tracing, lambda t: t["Conditions"].update(ActiveTracing={"Fn::Equals": [{"Ref": "Tracing"}, "PassThrough"]}), "ActiveTracing is not"),
    (rules.check_tracing, lambda t: unconditional(t, XRAY_SID, "CertificateNotifierRole"), "CertificateNotifierRole: an X-Ray statement that is not conditional"),
    (rules.check_tracing, lambda t: unconditional(t, XRAY_SID, "CertificateNotifierRole"), "CertificateNotifierRole with Tracing=PassThrough: X-Ray actions"),
    (rules.check_tracing, lambda t: drop_xray(t, "ConfigReaderRole"), "ConfigReaderRole: 0 statements with X-Ray actions"),
    (rules.check_tracing, lambda t: drop_xray(t, "ConfigReaderRole"), "ConfigReaderRole with Tracing=Active: X-Ray actions []"),
    (rules.check_tracing, lambda t: statement(t, "SecretRotationRole", "Logs")["Action"].append("xray:PutTraceSegments"), "SecretRotationRole: 2 statements with X-Ray actions"),
    (rules.check_tracing, lambda t: xray(t, "ParameterNotifierRole").update(Condition={"StringEquals": {"aws:SourceAccount": "1"}}), "ParameterNotifierRole: X-Ray statement"),
    (rules.check_tracing, lambda t: xray(t, "ParameterNotifierRole")["Action"].pop(), "ParameterNotifierRole with Tracing=Active: X-Ray actions ['xray:PutTraceSegments']"),
    (rules.check_parameter_groups, lambda t: groups(t)[-1]["Parameters"].remove("Tracing"), "Tracing is in 0 parameter groups"),
    (rules.check_parameter_groups, lambda t: groups(t)[0]["Parameters"].append("Tracing"), "Tracing is in 2 parameter groups"),
    (rules.check_parameter_groups, lambda t: groups(t)[0]["Parameters"].append("Tracer"), "Tracer in the parameter groups is not a parameter"),
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
    (rules.check_outputs, lambda t: t["Outputs"].pop("RotationHealthArn"), "RotationHealthArn"),
    (rules.check_rotation_health, lambda t: statement(t, "RotationHealthRole", "AskTheRotationFunctionsDoctor").update(Resource={"Fn::Sub": rules.ARN % ("lambda", "function:*")}), "not only the rotation function"),
    (rules.check_rotation_health, lambda t: statement(t, "RotationHealthRole", "KeepItsStates").update(Resource={"Fn::Sub": rules.ARN % ("ssm", "parameter/${AppPrefix}/*")}), "not only its states"),
    (rules.check_rotation_health, lambda t: statement(t, "RotationHealthRole", "ReadTheListOfSecrets")["Resource"].update({"Fn::Sub": rules.ARN % ("ssm", "parameter/*")}), "beyond its states and its list"),
    (rules.check_rotation_health, lambda t: unconditional(t, "ReadTheListOfSecrets", "RotationHealthRole"), "not conditional on HasRotationHealthSecretsParameter"),
    (rules.check_rotation_health, lambda t: props(t, "RotationHealth")["Environment"]["Variables"].update(DOCTOR_FUNCTION="other-function"), "DOCTOR_FUNCTION"),
    (rules.check_rotation_health, lambda t: props(t, "RotationHealth")["Environment"]["Variables"].update(SECRETS={"Ref": "DatabaseSecretArn"}), "SECRETS is"),
    (rules.check_rotation_health, lambda t: props(t, "RotationHealth")["Environment"]["Variables"].update(STATE_PATH={"Fn::Sub": "/${AppPrefix}/${Environment}/rotation-health"}), "STATE_PATH"),
    (rules.check_rotation_health, lambda t: props(t, "RotationHealth")["Environment"]["Variables"].pop("SCHEDULED_ROTATION_RULE"), "SCHEDULED_ROTATION_RULE"),
    (rules.check_rotation_health, lambda t: props(t, "RotationEventsRule")["EventPattern"]["detail"]["eventName"].remove("RotationFailed"), "RotationEventsRule: pattern"),
    (rules.check_rotation_health, lambda t: props(t, "RotationComplianceRule")["EventPattern"]["detail"].update(configRuleName=["secretsmanager-secret-periodic-rotation"]), "not the two rotation rules"),
    (rules.check_rotation_health, lambda t: target(t, "RotationHealthSweepRule").update(Input='{"Action": "doctor"}'), "RotationHealthSweepRule: Input"),
    (rules.check_rotation_health, lambda t: props(t, "RotationHealthSweepRule").update(ScheduleExpression="rate(7 days)"), "ScheduleExpression"),
    (rules.check_rules, lambda t: t["Resources"].pop("RotationHealthSweepPermission"), "RotationHealthSweepRule -> rotation-health: no lambda:InvokeFunction permission"),
    (rules.check_rules, lambda t: target(t, "RotationEventsRule").pop("DeadLetterConfig"), "RotationEventsRule -> rotation-health: no DeadLetterConfig"),
    (rules.check_async_failures, lambda t: props(t, "RotationHealth").pop("DeadLetterConfig"), "RotationHealth: invoked asynchronously without"),
    (rules.check_functions, lambda t: props(t, "RotationHealth").update(Timeout=900), "RotationHealth (rotation-health): Timeout"),
    (rules.check_notifications, lambda t: statement(t, "RotationHealthRole", "PublishToItsTopic").update(Resource="*"), "RotationHealthRole: publishes"),
    (rules.check_key_policy, lambda t: key_statement(t, "NotifiersPublishToTheEncryptedTopic")["Principal"]["AWS"].append("*"), "wildcard principal"),
    # Public parameters: exact ARNs of the configured names only, GetParameters only, only when configured.
    (rules.check_reader_scope, lambda t: statement(t, "ConfigReaderRole", "ReadItsPublicParameters").update(Resource={"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/*"}), "outside"),
    (rules.check_role_statements, lambda t: statement(t, "ConfigReaderRole", "ReadItsPublicParameters").update(Resource={"Fn::Sub": "arn:${AWS::Partition}:ssm:*::parameter/aws/service/*"}), "not scoped to this account and region"),
    (rules.check_reader_scope, lambda t: statement(t, "ConfigReaderRole", "ReadItsPublicParameters").update(Action=["ssm:GetParameters", "ssm:GetParametersByPath"]), "is not GetParameters on the configured names"),
    (rules.check_reader_scope, lambda t: statement(t, "ConfigReaderRole", "ReadItsPublicParameters")["Resource"][0]["Fn::Sub"][1].update(Name="/aws/service/x"), "is not GetParameters on the configured names"),
    (rules.check_reader_scope, lambda t: unconditional(t, "ReadItsPublicParameters", "ConfigReaderRole"), "not one statement conditional on HasPublicParameter1"),
    (rules.check_reader_scope, lambda t: props(t, "ConfigReader")["Environment"]["Variables"].update(ALLOW_PATH_REQUESTS="true"), "ALLOW_PATH_REQUESTS"),
    (rules.check_reader_scope, lambda t: props(t, "ConfigReader")["Environment"]["Variables"].pop("PUBLIC_PARAMETERS"), "PUBLIC_PARAMETERS"),
    # The Config rule's name is a parameter everywhere it is used.
    (rules.check_notifications, lambda t: props(t, "CertificateNotifier")["Environment"]["Variables"].update(CONFIG_RULE_NAME="acm-certificate-expiration-check"), "CONFIG_RULE_NAME"),
    (rules.check_notifications, lambda t: t["Parameters"]["CertificateConfigRuleName"].update(Default="securityhub-acm"), "the default is not"),
    # The parameter audit.
    (rules.check_parameter_audit, lambda t: statement(t, "ParameterNotifierRole", "AuditItsEnvironmentsParameters").update(Resource={"Fn::Sub": rules.ARN % ("ssm", "parameter/*")}), "not only its environment"),
    (rules.check_parameter_audit, lambda t: statement(t, "ParameterNotifierRole", "KeepTheAuditState").update(Resource={"Fn::Sub": rules.ARN % ("ssm", "parameter/${AppPrefix}/*")}), "not only the audit's state"),
    (rules.check_parameter_audit, lambda t: statement(t, "ParameterNotifierRole", "AuditItsEnvironmentsParameters").update(Action=["ssm:GetParametersByPath", "kms:Decrypt"]), "a KMS right"),
    (rules.check_parameter_audit, lambda t: props(t, "ParameterAuditState").update(Name={"Fn::Sub": "/${AppPrefix}/${Environment}/parameter-audit"}), "ParameterAuditState"),
    (rules.check_parameter_audit, lambda t: props(t, "ParameterNotifier")["Environment"]["Variables"].pop("AUDIT_STATE_PARAMETER"), "AUDIT_STATE_PARAMETER"),
    (rules.check_parameter_audit, lambda t: target(t, "ParameterAuditRule").update(Input='{"source": "aws.events"}'), "ParameterAuditRule: Input"),
    (rules.check_parameter_audit, lambda t: props(t, "ParameterAuditRule").update(ScheduleExpression="rate(1 minute)"), "ScheduleExpression"),
    (rules.check_parameter_audit, lambda t: target(t, "ParameterAuditRule").update(Arn={"Fn::GetAtt": ["CertificateNotifier", "Arn"]}), "not the parameter notifier"),
    (rules.check_rules, lambda t: target(t, "ParameterAuditRule").pop("RetryPolicy"), "ParameterAuditRule -> parameter-notifier: no RetryPolicy"),
    (rules.check_rules, lambda t: t["Resources"].pop("ParameterAuditPermission"), "ParameterAuditRule -> parameter-notifier: no lambda:InvokeFunction permission"),
    # ACM's account setting.
    (rules.check_acm_account, lambda t: t["Resources"]["AcmAccountConfiguration"].pop("Condition"), "not conditional on HasAcmDaysBeforeExpiry"),
    (rules.check_acm_account, lambda t: props(t, "AcmAccountConfiguration").update(ExpiryEventsConfiguration={"DaysBeforeExpiry": 45}), "DaysBeforeExpiry is not"),
    (rules.check_acm_account, lambda t: t["Parameters"]["AcmDaysBeforeExpiry"].update(AllowedPattern="^[0-9]*$"), "want empty or 1 to 45"),
    (rules.check_acm_account, lambda t: statement(t, "CertificateNotifierRole", "ReadAcmAccountConfigurationHasNoResource").update(Action="acm:DescribeCertificate"), "acm:GetAccountConfiguration is not in one statement"),
    (rules.check_role_statements, lambda t: statement(t, "CertificateNotifierRole", "ReadAcmAccountConfigurationHasNoResource").update(Action="acm:PutAccountConfiguration"), "not an action"),
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


# ------------------------------------------------------------------ behaviour, per parameter set
# The template resolved as CloudFormation would deploy it with the given parameters (conditions
# applied), and the Rules it would refuse them with.


def resolved(**params: str) -> dict[str, Any]:
    return rules.resolve(TEMPLATE, params)


def pattern(name: str) -> re.Pattern:
    # CloudFormation matches AllowedPattern against the whole value (Java regex; these patterns
    # use only what Python's re reads the same way).
    return re.compile(TEMPLATE["Parameters"][name]["AllowedPattern"])


SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf"
MASTER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NETWORK = {"RotationSubnetIds": "subnet-1,subnet-2", "RotationSecurityGroupIds": "sg-db", "RotationVpcId": "vpc-12345678"}


@pytest.mark.parametrize("params,secret", [({}, {"Ref": "DatabaseSecret"}), ({"DatabaseSecretArn": SECRET_ARN}, {"Ref": "DatabaseSecretArn"})],
                         ids=["created-secret", "given-secret"])
def test_the_function_is_bound_to_the_rotated_secret_only(params, secret):
    r = resolved(**params)["Resources"]
    assert r["SecretRotation"]["Properties"]["Environment"]["Variables"]["ALLOWED_SECRETS"] == secret
    assert r["SecretRotationPermission"]["Properties"]["SourceArn"] == secret
    assert r["SecretRotationPermission"]["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert r["DatabaseSecretRotation"]["Properties"]["SecretId"] == secret
    assert ("DatabaseSecret" in r) == (secret == {"Ref": "DatabaseSecret"})


def test_without_a_master_secret_no_master_secret_is_allowed():
    assert resolved()["Resources"]["SecretRotation"]["Properties"]["Environment"]["Variables"]["ALLOWED_MASTER_SECRETS"] == "none"
    variables = resolved(MasterSecretArn=MASTER_ARN)["Resources"]["SecretRotation"]["Properties"]["Environment"]["Variables"]
    assert variables["ALLOWED_MASTER_SECRETS"] == {"Ref": "MasterSecretArn"}
    # every value the function gets is a non-empty string (the function reads "" as unset)
    assert all(v != "" for v in resolved()["Resources"]["SecretRotation"]["Properties"]["Environment"]["Variables"].values())


def test_the_schedule_is_the_expression_and_the_window_only_when_given():
    assert "RotationDays" not in TEMPLATE["Parameters"]
    assert TEMPLATE["Parameters"]["RotationScheduleExpression"]["Default"] == "rate(30 days)"  # as RotationDays=30 did
    p = resolved()["Resources"]["DatabaseSecretRotation"]["Properties"]
    assert p["RotationRules"] == {"ScheduleExpression": {"Ref": "RotationScheduleExpression"}}
    assert p["RotateImmediatelyOnUpdate"] is False
    p = resolved(RotationWindow="3h")["Resources"]["DatabaseSecretRotation"]["Properties"]
    assert p["RotationRules"] == {"ScheduleExpression": {"Ref": "RotationScheduleExpression"}, "Duration": {"Ref": "RotationWindow"}}


@pytest.mark.parametrize("value", ["rate(30 days)", "rate(1 day)", "rate(999 days)", "rate(4 hours)", "rate(23 hours)",
                                   "cron(0 4 * * ? *)", "cron(0 4/12 * * ? *)", "cron(0 16 L * ? *)", "cron(0 0 ? * SUN#1 *)",
                                   "cron(0 8 1/7 * ? *)"])
def test_the_schedule_pattern_accepts_what_secrets_manager_accepts(value):
    assert pattern("RotationScheduleExpression").fullmatch(value)


@pytest.mark.parametrize("value", ["", "30", "rate(0 days)", "rate(1000 days)", "rate(3 hours)", "rate(24 hours)", "rate(30 minutes)",
                                   "rate(30days)", "cron(30 4 * * ? *)", "cron(0 4 * * ? 2030)", "cron(0 4 * * ?)", "cron(0 4 * * ? * *)",
                                   "rate(30 days) ", "at(2030-01-01T00:00:00)"])
def test_the_schedule_pattern_refuses_what_secrets_manager_refuses(value):
    assert not pattern("RotationScheduleExpression").fullmatch(value)


@pytest.mark.parametrize("value,ok", [("", True), ("1h", True), ("3h", True), ("24h", True), ("0h", False), ("25h", False),
                                      ("3", False), ("3 h", False), ("90m", False), ("1d", False)])
def test_the_window_pattern_is_empty_or_hours(value, ok):
    assert bool(pattern("RotationWindow").fullmatch(value)) is ok


@pytest.mark.parametrize("value,ok", [("", True), (KEY_ARN, True), ("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd", True),
                                      ("arn:aws:kms:us-east-1:123456789012:alias/app", False), ("1234abcd-12ab-34cd-56ef-1234567890ab", False)])
def test_the_secret_key_parameter_is_a_key_arn(value, ok):
    # IAM matches a key's ARN, never an alias: an alias here would grant nothing
    assert bool(pattern("DatabaseSecretKmsKeyArn").fullmatch(value)) is ok


@pytest.mark.parametrize("name", ["DatabaseSecretArn", "MasterSecretArn"])
@pytest.mark.parametrize("value,ok", [("", True), (SECRET_ARN, True), (MASTER_ARN, True),
                                      ("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db", False),
                                      ("app/db-AbCdEf", False), ("none", False)])
def test_secret_parameters_are_full_arns(name, value, ok):
    # SourceArn, the role's Resource and the function's allow-lists match the ARN exactly: a
    # partial ARN (no -xxxxxx suffix) would let nothing through; "none" is never an ARN
    assert bool(pattern(name).fullmatch(value)) is ok


@pytest.mark.parametrize("params,granted", [({}, False), ({"DatabaseSecretArn": SECRET_ARN}, False),
                                            ({"DatabaseSecretArn": SECRET_ARN, "DatabaseSecretKmsKeyArn": KEY_ARN}, True),
                                            ({"DatabaseSecretKmsKeyArn": KEY_ARN}, False)],
                         ids=["created-secret", "given-secret", "given-secret-and-key", "key-alone"])
def test_the_secrets_key_is_granted_only_for_a_given_secret(params, granted):
    kms = [s for role, s in rules.role_statements(resolved(**params)) if any(a.startswith("kms:") for a in rules.actions(s))]
    assert len(kms) == int(granted)
    if granted:
        assert kms[0]["Resource"] == {"Ref": "DatabaseSecretKmsKeyArn"}
        assert kms[0]["Condition"] == rules.SECRET_KEY_CONDITION


def test_a_key_without_its_secret_is_refused():
    assert rules.failed_rules(TEMPLATE, {"DatabaseSecretKmsKeyArn": KEY_ARN}) == [
        "DatabaseSecretKmsKeyArn is the key of the secret given in DatabaseSecretArn."]
    assert rules.failed_rules(TEMPLATE, {"DatabaseSecretKmsKeyArn": KEY_ARN, "DatabaseSecretArn": SECRET_ARN}) == []


NETWORK_RESOURCES = {"RotationSecurityGroup", "RotationEndpointSecurityGroup", "RotationEndpointIngress"}


@pytest.mark.parametrize("flags,endpoints", [({}, set()), ({"CreateSecretsManagerEndpoint": "true"}, {"SecretsManagerEndpoint"}),
                                             ({"CreateRdsEndpoint": "true"}, {"RdsEndpoint"}),
                                             ({"CreateSecretsManagerEndpoint": "true", "CreateRdsEndpoint": "true"}, {"SecretsManagerEndpoint", "RdsEndpoint"})],
                         ids=["none", "secretsmanager", "rds", "both"])
def test_endpoints_and_their_groups_are_created_only_when_asked(flags, endpoints):
    r = resolved(**NETWORK, **flags)["Resources"]
    assert {n for n in r if r[n]["Type"] == "AWS::EC2::VPCEndpoint"} == endpoints
    assert set(r) >= NETWORK_RESOURCES if endpoints else not NETWORK_RESOURCES & set(r)
    groups = r["SecretRotation"]["Properties"]["VpcConfig"]["SecurityGroupIds"]
    if endpoints:  # the given groups (the database route) and the stack's group (the endpoints)
        assert groups == {"Fn::Split": [",", {"Fn::Join": [",", [{"Fn::Join": [",", {"Ref": "RotationSecurityGroupIds"}]},
                                                                 {"Fn::GetAtt": ["RotationSecurityGroup", "GroupId"]}]]}]}
    else:
        assert groups == {"Ref": "RotationSecurityGroupIds"}


def test_with_defaults_the_function_is_outside_any_vpc():
    r = resolved()["Resources"]
    assert "VpcConfig" not in r["SecretRotation"]["Properties"]
    assert not {n for n, x in r.items() if x["Type"].startswith("AWS::EC2::")}


def test_with_endpoints_and_no_given_group_the_stacks_group_is_the_functions_only_group():
    r = resolved(RotationSubnetIds="subnet-1", RotationVpcId="vpc-12345678", CreateRdsEndpoint="true")["Resources"]
    assert r["SecretRotation"]["Properties"]["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": ["RotationSecurityGroup", "GroupId"]}]


@pytest.mark.parametrize("params,failed", [
    ({"CreateSecretsManagerEndpoint": "true"}, ["RotationVpcId", "RotationSubnetIds"]),
    ({"CreateRdsEndpoint": "true", "RotationSubnetIds": "subnet-1"}, ["RotationVpcId"]),
    ({"CreateRdsEndpoint": "true", "RotationVpcId": "vpc-12345678"}, ["RotationSubnetIds"]),
    ({"CreateRdsEndpoint": "true", "RotationVpcId": "vpc-12345678", "RotationSubnetIds": "subnet-1"}, []),
    ({"RotationSubnetIds": "subnet-1", "RotationSecurityGroupIds": "sg-1"}, []),
], ids=["no-network", "no-vpc", "no-subnets", "complete", "vpc-without-endpoints"])
def test_an_endpoint_without_the_rotation_network_is_refused(params, failed):
    got = rules.failed_rules(TEMPLATE, params)
    assert [next(w for w in ("RotationVpcId", "RotationSubnetIds") if d.startswith(w)) for d in got] == failed
    # and the conditions never attempt one without them (tools that skip Rules, moto)
    if failed:
        assert not {n for n, x in resolved(**params)["Resources"].items() if x["Type"] == "AWS::EC2::VPCEndpoint"}


def test_resolve_applies_conditions_and_drops_no_value():
    assert rules.parameter_values(TEMPLATE, {"RotationSubnetIds": "a,b"})["RotationSubnetIds"] == ["a", "b"]
    assert rules.evaluate(TEMPLATE, TEMPLATE["Conditions"]["HasVpc"], rules.parameter_values(TEMPLATE)) is False
    with pytest.raises(KeyError):
        rules.resolve(TEMPLATE, {"RotationDays": "30"})


# ------------------------------------------------------------------ tracing
FUNCTION_NAMES = [logical for logical, _, _, _ in rules.FUNCTIONS.values()]
ROLE_NAMES = [role for _, role, _, _ in rules.FUNCTIONS.values()]
EVERY_OPTION = {**NETWORK, "CreateSecretsManagerEndpoint": "true", "CreateRdsEndpoint": "true", "DatabaseSecretArn": SECRET_ARN,
                "DatabaseSecretKmsKeyArn": KEY_ARN, "MasterSecretArn": MASTER_ARN, "ReaderSecretName": "app/db",
                "RotationHealthSecretsParameter": "/ops/rotation-health-secrets"}


def trace_modes(**params: str) -> dict[str, str]:
    """Each function's tracing mode as deployed with these parameters (the Ref replaced by its value)."""
    values = rules.parameter_values(TEMPLATE, params)
    modes = {}
    for name, f in rules.resources(resolved(**params), "AWS::Lambda::Function").items():
        mode = f["Properties"]["TracingConfig"]["Mode"]
        modes[name] = values[mode["Ref"]] if isinstance(mode, dict) else mode
    return modes


def xray_statements(t: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {role: [s for r, s in rules.role_statements(t) if r == role and any(a.startswith("xray:") for a in rules.actions(s))]
            for role in rules.resources(t, "AWS::IAM::Role")}


@pytest.mark.parametrize("options", [{}, EVERY_OPTION], ids=["defaults", "every-option"])
def test_by_default_every_function_passes_tracing_through_and_no_role_may_write_to_xray(options):
    assert trace_modes(**options) == dict.fromkeys(FUNCTION_NAMES, "PassThrough")
    assert xray_statements(resolved(**options)) == {role: [] for role in ROLE_NAMES}


@pytest.mark.parametrize("options", [{}, EVERY_OPTION], ids=["defaults", "every-option"])
def test_with_active_tracing_every_function_traces_and_every_role_gets_the_two_xray_actions_only(options):
    assert rules.failed_rules(TEMPLATE, {**options, "Tracing": "Active"}) == []
    assert trace_modes(**options, Tracing="Active") == dict.fromkeys(FUNCTION_NAMES, "Active")
    want = {"Sid": XRAY_SID, "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}
    assert xray_statements(resolved(**options, Tracing="Active")) == {role: [want] for role in ROLE_NAMES}


@pytest.mark.parametrize("options", [{}, EVERY_OPTION], ids=["defaults", "every-option"])
def test_active_tracing_adds_the_xray_statements_and_nothing_else(options):
    active, passthrough = resolved(**options, Tracing="Active"), resolved(**options)
    for role in rules.resources(active, "AWS::IAM::Role").values():
        for policy in role["Properties"]["Policies"]:
            document = policy["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != XRAY_SID]
    assert active["Resources"] == passthrough["Resources"]


def test_the_console_form_shows_tracing_next_to_the_log_retention():
    group = next(g for g in groups(TEMPLATE) if "LogRetentionDays" in g["Parameters"])
    assert group["Parameters"] == ["LogRetentionDays", "Tracing"]


# ------------------------------------------------------------------ rotation health


@pytest.mark.parametrize("params,reads_list", [({}, False), ({"RotationHealthSecretsParameter": "/ops/rotation-health-secrets"}, True)],
                         ids=["no-list", "list"])
def test_rotation_health_reads_its_states_and_the_list_only_when_given(params, reads_list):
    t = resolved(**params)
    got = sorted(r for role, s in rules.role_statements(t) if role == "RotationHealthRole" and "ssm:GetParameter" in rules.actions(s)
                 for r in rules.texts(s["Resource"]))
    assert got == sorted([rules.HEALTH_STATES] + ([rules.HEALTH_LIST] if reads_list else []))
    variables = t["Resources"]["RotationHealth"]["Properties"]["Environment"]["Variables"]
    assert ("SECRETS_PARAMETER" in variables) is reads_list
    # the function reads the same path the role may write
    assert rules.ARN % ("ssm", "parameter" + variables["STATE_PATH"]["Fn::Sub"] + "/*") == rules.HEALTH_STATES


@pytest.mark.parametrize("value,ok", [("", True), ("/ops/rotation-health-secrets", True), ("/a", True), ("ops/list", False),
                                      ("/ops/list/", False), ("/ops list", False)])
def test_the_list_parameter_is_a_parameter_name(value, ok):
    assert bool(pattern("RotationHealthSecretsParameter").fullmatch(value)) is ok


@pytest.mark.parametrize("value,ok", [("cron(0 6 * * ? *)", True), ("rate(1 day)", True), ("rate(12 hours)", True),
                                      ("rate(30 minutes)", False), ("daily", False), ("", False)])
def test_the_sweep_schedule_is_a_rate_or_a_cron(value, ok):
    assert bool(pattern("RotationHealthSchedule").fullmatch(value)) is ok


def test_public_parameters_become_exact_arns_of_the_configured_names():
    names = ["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
             "/aws/service/global-infrastructure/regions/us-east-1/longName"]
    deployed = rules.resolve(TEMPLATE, {"ReaderPublicParameters": ",".join(names)})
    params = rules.parameter_values(TEMPLATE, {"ReaderPublicParameters": ",".join(names)})
    s = next(s for r, s in rules.role_statements(deployed) if s.get("Sid") == "ReadItsPublicParameters")
    arns = [sub["Fn::Sub"][0].replace("${Name}", rules.evaluate(TEMPLATE, sub["Fn::Sub"][1]["Name"], params))
            for sub in s["Resource"]]
    assert arns == [f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}::parameter{n}" for n in names]
    assert not any(s.get("Sid") == "ReadItsPublicParameters" for _, s in rules.role_statements(rules.resolve(TEMPLATE)))
    pattern = TEMPLATE["Parameters"]["ReaderPublicParameters"]["AllowedPattern"]
    for bad in ["/my-app/prod/db-password", "/aws/service/*", ",".join(names * 2), "/aws/service/a b"]:
        assert not re.fullmatch(pattern, bad), bad
