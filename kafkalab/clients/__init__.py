"""Producers, consumers and admin calls over kafka-python, ready for any broker.

Every later week builds on these: they read the brokers from ``KAFKA_BROKERS``
(or start a local Apache Kafka broker), encode values as JSON, and bound every
wait, so the same code runs on one local broker and on a 3-broker cluster.
"""

from kafkalab.clients.admin import Admin, PartitionLag, TopicInfo, UnknownTopicError
from kafkalab.clients.bounds import Bounds
from kafkalab.clients.connection import BrokerUnavailable, bootstrap_servers
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.deadletter import DEAD_LETTER_TOPIC, DeadLetterQueue, dead_letter_record
from kafkalab.clients.loop import Batch, ConsumerLoop, LoopStats, Metrics, run
from kafkalab.clients.message import Message
from kafkalab.clients.producer import Producer
from kafkalab.clients.retry import Backoff, PermanentError, RetriesExhausted, TransientError, is_retriable, retry
from kafkalab.clients.serdes import DeserializationError, SerializationError

__all__ = [
    "Admin",
    "Backoff",
    "Batch",
    "Bounds",
    "BrokerUnavailable",
    "Consumer",
    "ConsumerLoop",
    "DEAD_LETTER_TOPIC",
    "DeadLetterQueue",
    "DeserializationError",
    "LoopStats",
    "Message",
    "Metrics",
    "PartitionLag",
    "PermanentError",
    "Producer",
    "RetriesExhausted",
    "SerializationError",
    "TopicInfo",
    "TransientError",
    "UnknownTopicError",
    "bootstrap_servers",
    "dead_letter_record",
    "is_retriable",
    "retry",
    "run",
]
