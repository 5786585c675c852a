"""tap_stack.py
Enterprise-grade serverless infrastructure stack for file processing workflows.
"""

from typing import Optional
import json

import aws_cdk as cdk
from aws_cdk import (
    Duration,
    RemovalPolicy,
    Tags,
    CfnOutput,
    aws_s3 as s3,
    aws_lambda as _lambda,
    aws_iam as iam,
    aws_secretsmanager as secretsmanager,
    aws_logs as logs,
    aws_cloudwatch as cloudwatch,
    aws_s3_notifications as s3n,
)
from constructs import Construct


class TapStackProps(cdk.StackProps):
  """Properties for TapStack with environment configuration."""
  
  def __init__(self, environment_suffix: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    self.environment_suffix = environment_suffix


class TapStack(cdk.Stack):
  """
  Production-ready serverless infrastructure stack.
  
  Creates a complete serverless file processing system with:
  - S3 bucket with event-driven Lambda triggers
  - Secrets Manager for secure credential storage
  - Comprehensive CloudWatch monitoring and alarms
  - IAM roles with least privilege access
  - Multi-AZ high availability deployment
  """

  def __init__(
      self,
      scope: Construct,
      construct_id: str, 
      props: Optional[TapStackProps] = None, 
      **kwargs):
    super().__init__(scope, construct_id, **kwargs)

    # Environment configuration
    environment_suffix = (
      props.environment_suffix if props else None
    ) or self.node.try_get_context('environmentSuffix') or 'dev'

    # Secrets Manager for sensitive data
    self.secrets_manager_secret = secretsmanager.Secret(
      self, 
      f"ServerlessAppSecret{environment_suffix}",
      description="Secrets for ServerlessApp Lambda function",
      generate_secret_string=secretsmanager.SecretStringGenerator(
        secret_string_template=json.dumps({"username": "admin"}),
        generate_string_key="password",
        exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/\"\\",
        include_space=False,
        password_length=32
      ),
      removal_policy=RemovalPolicy.DESTROY
    )

    # S3 bucket with security best practices
    self.s3_bucket = s3.Bucket(
      self, 
      f"ServerlessAppBucket{environment_suffix}",
      bucket_name=f"serverlessapp-files-{environment_suffix.lower()}-{self.account}",
      versioned=True,
      public_read_access=False,
      block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
      server_access_logs_prefix="access-logs/",
      event_bridge_enabled=False,
      removal_policy=RemovalPolicy.DESTROY,
      auto_delete_objects=True
    )

    # CloudWatch Log Group with retention policy
    self.lambda_log_group = logs.LogGroup(
      self, 
      f"ServerlessAppLambdaLogGroup{environment_suffix}",
      log_group_name=f"/aws/lambda/ServerlessAppLambda{environment_suffix}",
      retention=logs.RetentionDays.ONE_WEEK,
      removal_policy=RemovalPolicy.DESTROY
    )

    # IAM role with least privilege
    self.lambda_execution_role = iam.Role(
      self, 
      f"ServerlessAppLambdaRole{environment_suffix}",
      role_name=f"ServerlessAppLambdaRole{environment_suffix}",
      assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
      managed_policies=[
        iam.ManagedPolicy.from_aws_managed_policy_name(
          "service-role/AWSLambdaBasicExecutionRole"
        )
      ],
      inline_policies={
        "S3Access": iam.PolicyDocument(
          statements=[
            iam.PolicyStatement(
              effect=iam.Effect.ALLOW,
              actions=[
                "s3:GetObject",
                "s3:GetObjectVersion"
              ],
              resources=[f"{self.s3_bucket.bucket_arn}/*"]
            )
          ]
        ),
        "SecretsManagerAccess": iam.PolicyDocument(
          statements=[
            iam.PolicyStatement(
              effect=iam.Effect.ALLOW,
              actions=[
                "secretsmanager:GetSecretValue"
              ],
              resources=[self.secrets_manager_secret.secret_arn]
            )
          ]
        ),
        "CloudWatchMetrics": iam.PolicyDocument(
          statements=[
            iam.PolicyStatement(
              effect=iam.Effect.ALLOW,
              actions=[
                "cloudwatch:PutMetricData"
              ],
              resources=["*"],
              conditions={
                "StringEquals": {
                  "cloudwatch:namespace": "ServerlessApp/Lambda"
                }
              }
            )
          ]
        )
      }
    )

    # Lambda function with Python 3.13 runtime
    lambda_code = """
import json
import boto3
import os
import logging
from urllib.parse import unquote_plus

logger = logging.getLogger()
logger.setLevel(logging.INFO)

s3_client = boto3.client('s3')
secrets_client = boto3.client('secretsmanager')
cloudwatch = boto3.client('cloudwatch')

def lambda_handler(event, context):
    try:
        # Track invocation metrics
        cloudwatch.put_metric_data(
            Namespace='ServerlessApp/Lambda',
            MetricData=[{
                'MetricName': 'InvocationCount',
                'Value': 1,
                'Unit': 'Count'
            }]
        )
        
        # Retrieve secrets
        secret_arn = os.environ['SECRET_ARN']
        secret_response = secrets_client.get_secret_value(SecretId=secret_arn)
        secret_data = json.loads(secret_response['SecretString'])
        logger.info(f"Retrieved secret with username: {secret_data.get('username', 'N/A')}")
        
        # Process S3 events
        for record in event['Records']:
            bucket_name = record['s3']['bucket']['name']
            object_key = unquote_plus(record['s3']['object']['key'])
            event_name = record['eventName']
            
            logger.info(f"Processing {event_name} for {object_key} in {bucket_name}")
            
            try:
                response = s3_client.head_object(Bucket=bucket_name, Key=object_key)
                object_size = response['ContentLength']
                
                cloudwatch.put_metric_data(
                    Namespace='ServerlessApp/Lambda',
                    MetricData=[{
                        'MetricName': 'ProcessedFileSize',
                        'Value': object_size,
                        'Unit': 'Bytes'
                    }]
                )
                
                logger.info(f"Processed file {object_key}: {object_size} bytes")
                
            except Exception as e:
                logger.error(f"Error processing {object_key}: {str(e)}")
                cloudwatch.put_metric_data(
                    Namespace='ServerlessApp/Lambda',
                    MetricData=[{
                        'MetricName': 'ProcessingErrors',
                        'Value': 1,
                        'Unit': 'Count'
                    }]
                )
                raise
        
        return {
            'statusCode': 200,
            'body': json.dumps({
                'message': 'Successfully processed S3 event',
                'processedRecords': len(event['Records'])
            })
        }
        
    except Exception as e:
        logger.error(f"Lambda execution error: {str(e)}")
        cloudwatch.put_metric_data(
            Namespace='ServerlessApp/Lambda',
            MetricData=[{
                'MetricName': 'LambdaErrors',
                'Value': 1,
                'Unit': 'Count'
            }]
        )
        raise
"""

    self.lambda_function = _lambda.Function(
      self, 
      f"ServerlessAppLambda{environment_suffix}",
      function_name=f"ServerlessAppLambda{environment_suffix}",
      runtime=_lambda.Runtime.PYTHON_3_13,
      handler="index.lambda_handler",
      code=_lambda.Code.from_inline(lambda_code),
      role=self.lambda_execution_role,
      timeout=Duration.seconds(60),
      memory_size=256,
      log_group=self.lambda_log_group,
      environment={
        "SECRET_ARN": self.secrets_manager_secret.secret_arn,
        "BUCKET_NAME": self.s3_bucket.bucket_name
      },
      dead_letter_queue_enabled=True,
      retry_attempts=2
    )

    # Configure S3 event notifications
    self.s3_bucket.add_event_notification(
      s3.EventType.OBJECT_CREATED,
      s3n.LambdaDestination(self.lambda_function),
      s3.NotificationKeyFilter(prefix="uploads/")
    )

    # CloudWatch Alarms for monitoring
    self.error_alarm = cloudwatch.Alarm(
      self, 
      f"ServerlessAppLambdaErrorAlarm{environment_suffix}",
      alarm_name=f"ServerlessApp-Lambda-Errors-{environment_suffix}",
      metric=cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions_map={
          "FunctionName": self.lambda_function.function_name
        },
        statistic="Sum",
        period=Duration.minutes(5)
      ),
      threshold=1,
      evaluation_periods=1
    )

    self.duration_alarm = cloudwatch.Alarm(
      self, 
      f"ServerlessAppLambdaDurationAlarm{environment_suffix}",
      alarm_name=f"ServerlessApp-Lambda-Duration-{environment_suffix}",
      metric=cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name="Duration",
        dimensions_map={
          "FunctionName": self.lambda_function.function_name
        },
        statistic="Average",
        period=Duration.minutes(5)
      ),
      threshold=30000,
      evaluation_periods=2
    )

    # Resource tagging
    Tags.of(self).add("Project", "ServerlessApp")
    Tags.of(self).add("Environment", environment_suffix)
    Tags.of(self).add("Owner", "TAP")

    # Stack outputs
    CfnOutput(
      self, 
      f"S3BucketName{environment_suffix}",
      value=self.s3_bucket.bucket_name,
      description="Name of the S3 bucket for file uploads",
      export_name=f"ServerlessApp-S3Bucket-{environment_suffix}"
    )

    CfnOutput(
      self, 
      f"LambdaFunctionArn{environment_suffix}",
      value=self.lambda_function.function_arn,
      description="ARN of the Lambda function",
      export_name=f"ServerlessApp-LambdaArn-{environment_suffix}"
    )

    CfnOutput(
      self, 
      f"SecretArn{environment_suffix}",
      value=self.secrets_manager_secret.secret_arn,
      description="ARN of the Secrets Manager secret",
      export_name=f"ServerlessApp-SecretArn-{environment_suffix}"
    )
