"""A troposphere template comparable to ours, for `sceptre generate` in `make bench`: encrypted
versioned TLS-only bucket, function with its role, log group and dead-letter queue, secret, KMS
key, alarm topic and alarms. Sceptre calls ``sceptre_handler`` once per stack."""

from __future__ import annotations

from typing import Any

from awacs import kms, logs, s3, secretsmanager, sqs
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import GetAtt, Output, Ref, Sub, Tags, Template, awslambda, cloudwatch, iam, sns
from troposphere import kms as tkms
from troposphere import logs as tlogs
from troposphere import s3 as ts3
from troposphere import secretsmanager as tsm
from troposphere import sqs as tsqs


def build(data: dict[str, Any]) -> Template:
    env, account = data["environment"], data["account_id"]
    tags = Tags(Project="ServerlessApp", Environment=env, Owner="TAP")
    t = Template(Description=f"ServerlessApp {env}")
    key = t.add_resource(
        tkms.Key(
            "Key",
            EnableKeyRotation=True,
            Tags=tags,
            KeyPolicy=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("AWS", f"arn:aws:iam::{account}:root"),
                        Action=[kms.Action("*")],
                        Resource=["*"],
                    )
                ],
            ),
        )
    )
    bucket = t.add_resource(ts3.Bucket(
        "DataBucket", BucketName=f"serverlessapp-files-{env}-{account}", Tags=tags,
        VersioningConfiguration=ts3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=ts3.BucketEncryption(ServerSideEncryptionConfiguration=[
            ts3.ServerSideEncryptionRule(BucketKeyEnabled=True,
                ServerSideEncryptionByDefault=ts3.ServerSideEncryptionByDefault(
                    SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")))]),
        PublicAccessBlockConfiguration=ts3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
            RestrictPublicBuckets=True),
        LifecycleConfiguration=ts3.LifecycleConfiguration(Rules=[ts3.LifecycleRule(
            Status="Enabled", NoncurrentVersionExpiration=ts3.NoncurrentVersionExpiration(
                NoncurrentDays=30))]),
    ))  # fmt: skip
    t.add_resource(ts3.BucketPolicy(
        "DataBucketPolicy", Bucket=Ref(bucket),
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Deny, Principal=Principal("*"), Action=[s3.Action("*")],
            Resource=[GetAtt(bucket, "Arn"), Sub("${DataBucket.Arn}/*")],
            Condition=Condition(Bool({"aws:SecureTransport": "false"})))]),
    ))  # fmt: skip
    secret = t.add_resource(tsm.Secret(
        "Secret", KmsKeyId=Ref(key), Tags=tags,
        GenerateSecretString=tsm.GenerateSecretString(
            SecretStringTemplate='{"username": "admin"}', GenerateStringKey="password",
            PasswordLength=32),
    ))  # fmt: skip
    queue = t.add_resource(
        tsqs.Queue(
            "DeadLetterQueue", KmsMasterKeyId=Ref(key), MessageRetentionPeriod=1209600, Tags=tags
        )
    )
    log_group = t.add_resource(
        tlogs.LogGroup(
            "FunctionLogGroup",
            LogGroupName=f"/aws/lambda/ServerlessAppLambda{env}",
            RetentionInDays=data["log_retention_days"],
            KmsKeyId=GetAtt(key, "Arn"),
        )
    )
    role = t.add_resource(iam.Role(
        "FunctionRole", Tags=tags,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "lambda.amazonaws.com"),
            Action=[AssumeRole])]),
        Policies=[iam.Policy(PolicyName="function", PolicyDocument=PolicyDocument(
            Version="2012-10-17", Statement=[
                Statement(Effect=Allow, Action=[s3.GetObject, s3.GetObjectVersion],
                          Resource=[Sub("${DataBucket.Arn}/uploads/*")]),
                Statement(Effect=Allow, Action=[s3.PutObject],
                          Resource=[Sub("${DataBucket.Arn}/processed/*")]),
                Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue],
                          Resource=[Ref(secret)]),
                Statement(Effect=Allow, Action=[sqs.SendMessage],
                          Resource=[GetAtt(queue, "Arn")]),
                Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                          Resource=[GetAtt(log_group, "Arn")]),
                Statement(Effect=Allow, Action=[kms.Decrypt, kms.GenerateDataKey],
                          Resource=[GetAtt(key, "Arn")]),
            ]))],
    ))  # fmt: skip
    function = t.add_resource(awslambda.Function(
        "Function", FunctionName=f"ServerlessAppLambda{env}", Runtime="python3.13",
        Handler="app.lambda_handler", Role=GetAtt(role, "Arn"), Architectures=["arm64"],
        MemorySize=data["memory_mb"], Timeout=60, Tags=tags,
        Code=awslambda.Code(S3Bucket=f"serverlessapp-artifacts-{account}-us-east-1",
                            S3Key="handler/app.zip"),
        DeadLetterConfig=awslambda.DeadLetterConfig(TargetArn=GetAtt(queue, "Arn")),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        Environment=awslambda.Environment(Variables={"SECRET_ARN": Ref(secret)}),
    ))  # fmt: skip
    topic = t.add_resource(sns.Topic("AlarmTopic", KmsMasterKeyId=Ref(key), Tags=tags))
    for name, metric, stat, threshold in (
        ("Errors", "Errors", "Sum", 1), ("Duration", "Duration", "Average", 30000),
        ("Throttles", "Throttles", "Sum", 1),
    ):  # fmt: skip
        t.add_resource(cloudwatch.Alarm(
            f"{name}Alarm", AlarmName=f"ServerlessApp-Lambda-{name}-{env}",
            Namespace="AWS/Lambda", MetricName=metric, Statistic=stat, Period=300,
            EvaluationPeriods=1, Threshold=threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Dimensions=[cloudwatch.MetricDimension(Name="FunctionName", Value=Ref(function))],
            AlarmActions=[Ref(topic)], OKActions=[Ref(topic)],
        ))  # fmt: skip
    t.add_resource(cloudwatch.Alarm(
        "DlqDepthAlarm", AlarmName=f"ServerlessApp-DLQ-Depth-{env}", Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible", Statistic="Maximum", Period=300,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[cloudwatch.MetricDimension(Name="QueueName",
                                               Value=GetAtt(queue, "QueueName"))],
        AlarmActions=[Ref(topic)],
    ))  # fmt: skip
    t.add_output(Output("BucketName", Value=Ref(bucket)))
    t.add_output(Output("FunctionArn", Value=GetAtt(function, "Arn")))
    return t


def sceptre_handler(sceptre_user_data: dict[str, Any]) -> str:
    return build(sceptre_user_data).to_json()
