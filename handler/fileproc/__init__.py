"""The S3 file processor behind ``app.lambda_handler``."""
