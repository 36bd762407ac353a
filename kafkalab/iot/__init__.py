"""IoT sensor data: validate, normalise, store as a time series, alert and predict (week 7).

A seeded fleet of sensors publishes readings, in mixed units and with every
fault a real fleet has, to ``iot-sensors``. One pipeline, :class:`IoTPipeline`,
validates and normalises them (bad ones to the dead-letter topic), stores them
idempotently in DuckDB, raises threshold alerts with hysteresis, scores each
device's readings for anomalies, and predicts which devices need maintenance.
"""

from kafkalab.iot.alerts import DEFAULT_THRESHOLDS, Threshold, ThresholdAlerter
from kafkalab.iot.anomaly import (
    DETECTORS,
    RESIDUAL_BOUNDS,
    Detector,
    DeviceDetectors,
    ResidualHST,
    compare,
    hst_detector,
    zscore_detector,
)
from kafkalab.iot.maintenance import (
    PREDICTIONS_TOPIC,
    SCALES,
    MaintenancePredictor,
    MaintenanceReport,
    Prediction,
    WarningTime,
    default_model,
    evaluate,
)
from kafkalab.iot.pipeline import SENSORS_TOPIC, InjectedCrash, IoTPipeline, PipelineStats
from kafkalab.iot.simulator import DEVICE_TYPES, START_MS, Device, Simulation, fleet, publish, simulate
from kafkalab.iot.timeseries import TimeSeriesStore
from kafkalab.iot.validation import (
    CANONICAL_UNITS,
    REQUIRED_FIELDS,
    SENSOR_TYPES,
    InvalidReading,
    Reading,
    Rule,
    SensorType,
    Validator,
    convert,
    parse_timestamp,
    validate,
)

__all__ = [
    "CANONICAL_UNITS",
    "DEFAULT_THRESHOLDS",
    "DETECTORS",
    "DEVICE_TYPES",
    "Detector",
    "Device",
    "DeviceDetectors",
    "InjectedCrash",
    "InvalidReading",
    "IoTPipeline",
    "MaintenancePredictor",
    "MaintenanceReport",
    "PREDICTIONS_TOPIC",
    "PipelineStats",
    "Prediction",
    "REQUIRED_FIELDS",
    "RESIDUAL_BOUNDS",
    "Reading",
    "ResidualHST",
    "Rule",
    "SCALES",
    "SENSORS_TOPIC",
    "SENSOR_TYPES",
    "START_MS",
    "SensorType",
    "Simulation",
    "Threshold",
    "ThresholdAlerter",
    "TimeSeriesStore",
    "Validator",
    "WarningTime",
    "compare",
    "convert",
    "default_model",
    "evaluate",
    "fleet",
    "hst_detector",
    "parse_timestamp",
    "publish",
    "simulate",
    "validate",
    "zscore_detector",
]
