"""EventBridge patterns proven on moto: moto fails a whole PutEvents call when a matching rule
targets a Lambda function, so a pattern is put on a rule of a new event bus whose target is an SQS
queue, and the queue says which events matched. Used by the template's pattern tests and the demo.
"""
import json
import uuid


def sample_key(event: dict) -> str:
    """What identifies an event across delivery: EventBridge gives it a new id and time."""
    return json.dumps([event["source"], event["detail-type"], event["detail"], sorted(event.get("resources", []))], sort_keys=True)


def delivered(events, sqs, pattern: str, samples: list) -> list:
    """Puts `samples` on a new bus whose one rule has `pattern` and a queue as its target; returns
    the events that reached the queue, as EventBridge delivered them. Removes what it made."""
    name = f"pattern-proof-{uuid.uuid4().hex[:12]}"
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=name, EventPattern=pattern, State="ENABLED")
        events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
        entries = [{"EventBusName": name, "Source": e["source"], "DetailType": e["detail-type"],
                    "Detail": json.dumps(e["detail"]), "Resources": e.get("resources", [])} for e in samples]
        for i in range(0, len(entries), 10):
            answer = events.put_events(Entries=entries[i:i + 10])
            assert answer["FailedEntryCount"] == 0, answer
        got = []
        while True:  # moto delivers during PutEvents: an empty receive means all is read
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return got
            for m in messages:
                got.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=["queue"])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)
