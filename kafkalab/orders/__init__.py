"""Order processing: five services that talk only through Kafka, a saga, event sourcing and CQRS.

Order, Inventory, Payment, Shipping and Analytics each read their topics in a
consumer group of their own; the order service drives a saga
(:mod:`kafkalab.saga`) that compensates every failure; a projection folds the
events into the read model the HTTP API answers from. The event contract is in
:mod:`kafkalab.orders.events`; ``python -m kafkalab.orders`` runs it all.
"""

from kafkalab.orders.analytics_service import AnalyticsService, analytics_snapshot
from kafkalab.orders.catalog import CATALOG, STARTING_STOCK, Product
from kafkalab.orders.events import EVENT_TYPES, Event, InvalidEvent, Topics, new_event
from kafkalab.orders.eventsourcing import apply, rebuild, replay
from kafkalab.orders.faults import Faults, poison_record
from kafkalab.orders.inventory import InventoryService
from kafkalab.orders.order import OrderService
from kafkalab.orders.payment import PaymentService
from kafkalab.orders.projection import OrderProjection, rebuild_projection
from kafkalab.orders.reader import read_topic
from kafkalab.orders.server import ApiServer, rebuild_read_model, up
from kafkalab.orders.service import Service, UnexpectedEvent
from kafkalab.orders.shipping import ShippingService
from kafkalab.orders.store import Store
from kafkalab.orders.system import OrdersConfig, OrderSystem, place_order

__all__ = [
    "ApiServer",
    "AnalyticsService",
    "CATALOG",
    "EVENT_TYPES",
    "Event",
    "Faults",
    "InvalidEvent",
    "InventoryService",
    "OrderProjection",
    "OrderService",
    "OrderSystem",
    "OrdersConfig",
    "PaymentService",
    "Product",
    "STARTING_STOCK",
    "Service",
    "ShippingService",
    "Store",
    "Topics",
    "UnexpectedEvent",
    "analytics_snapshot",
    "apply",
    "new_event",
    "place_order",
    "read_topic",
    "poison_record",
    "rebuild",
    "rebuild_projection",
    "rebuild_read_model",
    "replay",
    "up",
]

