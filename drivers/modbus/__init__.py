"""Modbus/TCP: the register map planned from the profiles, and the client transport."""

from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.modbus.map import ModbusMap, RegisterEntry, RegisterKind, WordOrder, plan_line_map

__all__ = ["ModbusEndpoint", "ModbusMap", "ModbusTransport", "RegisterEntry", "RegisterKind", "WordOrder",
           "plan_line_map"]
