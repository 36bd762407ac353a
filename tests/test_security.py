"""The secured local cluster (``broker.up(secure=True)``): SASL/SCRAM logins and ACLs on a real
Apache Kafka node, as the security lesson (week 8, notebook 05) shows them.

Each claim of the lesson is checked here on the broker: no credentials and a wrong password are
refused; a user who logged in but has no ACL is refused; one ACL lets that user write to one
topic and no other.
"""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    NewTopic,
    ResourcePattern,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.errors import GroupAuthorizationFailedError, KafkaTimeoutError, TopicAuthorizationFailedError

from kafkalab import broker
from kafkalab.broker import config


@pytest.fixture
def admin(secured):
    admin = KafkaAdminClient(**secured.client_config(), client_id="test-security")
    yield admin
    admin.close()


def user(admin, mechanism=ScramMechanism.SCRAM_SHA_256):
    """A new SCRAM user (name, password), made through the admin API."""
    name, password = f"user-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    assert admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(name, mechanism, password)]) == {name: None}
    return name, password


def topic(admin):
    name = f"secure-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, 1, 1)])
    return name


def test_the_secured_cluster_is_separate_and_listed(secured):
    assert secured.secure and secured.folder.endswith("kafka-1node-secure")
    plain = broker.status()
    assert plain is None or plain.bootstrap != secured.bootstrap
    assert any(c.secure for c in broker.clusters())
    props = (secured.log(1).parent / "server.properties").read_text()
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in props
    assert f"super.users=User:{config.ADMIN_USER}" in props


def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(secured):
    # kafka-python sees the broker close the connection and never gets metadata
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaAdminClient(bootstrap_servers=secured.bootstrap, bootstrap_timeout_ms=3000)
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaAdminClient(**secured.client_config(config.ADMIN_USER, "wrong"),
                         bootstrap_timeout_ms=3000)


def test_kafkas_own_tool_names_the_failed_login(secured, tmp_path):
    bad = tmp_path / "bad.properties"
    bad.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                   f'required username="{config.ADMIN_USER}" password="wrong";\n')
    done = broker.tool("kafka-topics", "--bootstrap-server", secured.bootstrap, "--list",
                       "--command-config", str(bad), timeout=60)
    assert done.returncode != 0
    assert "invalid credentials with SASL mechanism SCRAM-SHA-256" in done.stdout + done.stderr


def test_a_user_without_acls_is_refused_then_one_acl_allows_one_topic(secured, admin):
    name, password = user(admin)
    allowed, other = topic(admin), topic(admin)
    login = secured.client_config(name, password)
    refused = KafkaProducer(**login, max_block_ms=5000)
    with pytest.raises(TopicAuthorizationFailedError):
        refused.send(allowed, b"before the ACL").get(timeout=10)
    refused.close(timeout=2)
    result = admin.create_acls([ACL(f"User:{name}", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                                    ResourcePattern(ResourceType.TOPIC, allowed))])
    assert not result["failed"]
    producer = KafkaProducer(**login, max_block_ms=5000)  # a new one: see the next test
    try:
        assert producer.send(allowed, b"after the ACL").get(timeout=10).offset == 0
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(other, b"no ACL here").get(timeout=10)
    finally:
        producer.close(timeout=2)


def test_a_producer_refused_at_start_stays_refused_after_the_acl(secured, admin):
    """kafka-python's idempotent producer asks for a producer id first; refused (no WRITE on any
    topic yet) it keeps that error: the lesson makes a new producer after granting."""
    name, password = user(admin)
    allowed = topic(admin)
    producer = KafkaProducer(**secured.client_config(name, password), max_block_ms=5000)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(allowed, b"x").get(timeout=10)
        admin.create_acls([ACL(f"User:{name}", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                               ResourcePattern(ResourceType.TOPIC, allowed))])
        with pytest.raises(Exception, match="ClusterAuthorizationFailed"):
            producer.send(allowed, b"x").get(timeout=10)
    finally:
        producer.close(timeout=2)


def test_a_consumer_group_needs_read_on_the_group_too(secured, admin):
    name, password = user(admin, ScramMechanism.SCRAM_SHA_512)
    allowed, group = topic(admin), f"g-{uuid.uuid4().hex[:8]}"
    with KafkaProducer(**secured.client_config()) as producer:
        producer.send(allowed, b"hello").get(timeout=10)
    admin.create_acls([ACL(f"User:{name}", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                           ResourcePattern(ResourceType.TOPIC, allowed))])
    login = secured.client_config(name, password, mechanism="SCRAM-SHA-512")
    consumer = KafkaConsumer(allowed, **login, group_id=group, auto_offset_reset="earliest")
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            consumer.poll(timeout_ms=5000)
    finally:
        consumer.close()
    admin.create_acls([ACL(f"User:{name}", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                           ResourcePattern(ResourceType.GROUP, group))])
    consumer = KafkaConsumer(allowed, **login, group_id=group, auto_offset_reset="earliest")
    try:
        got = []
        for _ in range(20):  # bounded: joining the group takes a few polls
            got += [r.value for rs in consumer.poll(timeout_ms=500).values() for r in rs]
            if got:
                break
        assert got == [b"hello"]
    finally:
        consumer.close()


@pytest.mark.parametrize("password", ["", "has space", 'quo"te', "semi;colon", "brack]et", "é"])
def test_a_password_that_cannot_go_into_a_jaas_line_is_refused(password):
    with pytest.raises(ValueError, match="letters and digits only"):
        config.secure_properties(9400, 9401, password)
    with pytest.raises(ValueError, match="letters and digits only"):
        config.scram_format_args(password)


def test_a_secured_cluster_has_one_node():
    with pytest.raises(broker.BrokerError, match="the secured cluster has one node"):
        broker.up(nodes=3, secure=True)
