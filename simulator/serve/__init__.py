"""The simulator served as virtual PLCs over Modbus/TCP and OPC UA, with a heartbeat watchdog."""
