"""An operator's inbox for the pipeline's alerts: an SQS queue subscribed to an SNS topic,
both on the local AWS."""

from __future__ import annotations

import json
import time

from localaws.client import client


def alerts_inbox(endpoint: str) -> tuple[str, str]:
    """A topic's ARN, and the URL of a queue subscribed to it."""
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    topic = sns.create_topic(Name="fruits-pipeline-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    return topic, queue_url


def received_alerts(endpoint: str, queue_url: str, until, timeout: float = 30) -> list[dict]:
    """The SNS notifications the queue received (subject, message, ...), polled until
    until(notifications) holds or the deadline."""
    sqs = client("sqs", endpoint)
    notifications: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            notifications.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if until(notifications):
            break
        time.sleep(0.5)
    return notifications
