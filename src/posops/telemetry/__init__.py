"""Fleet telemetry: heartbeat schema, MQTT transport, derived evidence, fleet analytics and a simulator."""
